"""plan versions, job drafting status and résumé probe settings, interviews pinned to a plan version

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_versions",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("job_id", "version"),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), server_default="ready", nullable=False))
        batch_op.add_column(sa.Column("plan_version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("resume_probes", sa.Integer(), server_default="2", nullable=False))
    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("probes", sa.JSON(), nullable=True))
    # Every existing job's plan becomes its version 1, the version its interviews already ran.
    op.execute(
        "INSERT INTO plan_versions (job_id, version, plan, source, created_at) "
        "SELECT id, 1, plan, 'migrated', created_at FROM jobs"
    )


def downgrade() -> None:
    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.drop_column("probes")
        batch_op.drop_column("plan_version")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("resume_probes")
        batch_op.drop_column("plan_version")
        batch_op.drop_column("status")
    op.drop_table("plan_versions")
