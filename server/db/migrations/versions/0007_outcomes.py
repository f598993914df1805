"""outcomes: hires' performance results linked to their interviews, and candidates' self-identification (apart)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "performance_outcomes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("interview_id", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rated_at", sa.Date(), nullable=False),
        sa.Column("rater_saw_interview_scores", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["interview_id"], ["interviews.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("performance_outcomes") as batch_op:
        batch_op.create_index(batch_op.f("ix_performance_outcomes_interview_id"), ["interview_id"], unique=False)
    op.create_table(
        "candidate_demographics",
        sa.Column("candidate_id", sa.String(length=32), nullable=False),
        sa.Column("sex", sa.String(length=64), nullable=False),
        sa.Column("race_ethnicity", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["candidate_id"], ["candidates.id"]),
        sa.PrimaryKeyConstraint("candidate_id"),
    )


def downgrade() -> None:
    op.drop_table("candidate_demographics")
    op.drop_table("performance_outcomes")
