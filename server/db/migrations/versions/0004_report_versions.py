"""report versions: every report an interview gets (at its close, or scored again) is kept; none is overwritten

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_versions",
        sa.Column("interview_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["interview_id"], ["interviews.id"]),
        sa.PrimaryKeyConstraint("interview_id", "version"),
    )
    # Each report stored so far becomes its interview's version 1 (interviews.report stays the newest one's copy).
    op.execute(
        "INSERT INTO report_versions (interview_id, version, report, source, created_at) "
        "SELECT id, 1, report, 'migrated', COALESCE(ended_at, created_at) FROM interviews WHERE report IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("report_versions")
