"""leases on live interviews: which node runs each one, its fencing token and when the lease expires

Interviews live when the migration runs get an expired lease under fence 0 (held by no node): a candidate's
reconnect takes it over, and otherwise the lease sweeper resolves them as abandoned.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interview_leases",
        sa.Column("interview_id", sa.String(length=32), nullable=False),
        sa.Column("node", sa.String(length=120), nullable=False),
        sa.Column("fence", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["interview_id"], ["interviews.id"]),
        sa.PrimaryKeyConstraint("interview_id"),
    )
    with op.batch_alter_table("interview_leases") as batch_op:
        batch_op.create_index(batch_op.f("ix_interview_leases_expires_at"), ["expires_at"], unique=False)
    op.execute(
        "INSERT INTO interview_leases (interview_id, node, fence, expires_at, acquired_at) "
        "SELECT id, 'migration', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM interviews WHERE status = 'live'"
    )


def downgrade() -> None:
    op.drop_table("interview_leases")
