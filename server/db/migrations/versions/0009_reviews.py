"""reviews: a job's reviewers and blind setting, review tasks (a report to review, a candidate's request for a human
review), scorecards, and share links for hiring managers

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_policies",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("reviewers", sa.JSON(), nullable=False),
        sa.Column("blind", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.create_table(
        "review_tasks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("interview_id", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("reviewer_name", sa.String(length=200), nullable=True),
        sa.Column("reviewer_email", sa.String(length=320), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["interview_id"], ["interviews.id"]),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("interview_id", "reason", "reviewer_email"),
    )
    with op.batch_alter_table("review_tasks") as batch_op:
        batch_op.create_index(batch_op.f("ix_review_tasks_interview_id"), ["interview_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_tasks_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_tasks_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_tasks_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_tasks_created_at"), ["created_at"], unique=False)
    op.create_table(
        "scorecards",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("interview_id", sa.String(length=32), nullable=False),
        sa.Column("reviewer_name", sa.String(length=200), nullable=False),
        sa.Column("reviewer_email", sa.String(length=320), nullable=False),
        sa.Column("share_id", sa.String(length=40), nullable=True),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("recommendation", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["interview_id"], ["interviews.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("interview_id", "reviewer_email"),
    )
    with op.batch_alter_table("scorecards") as batch_op:
        batch_op.create_index(batch_op.f("ix_scorecards_interview_id"), ["interview_id"], unique=False)
    op.create_table(
        "share_links",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("interview_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["interview_id"], ["interviews.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("share_links") as batch_op:
        batch_op.create_index(batch_op.f("ix_share_links_interview_id"), ["interview_id"], unique=False)


def downgrade() -> None:
    op.drop_table("share_links")
    op.drop_table("scorecards")
    op.drop_table("review_tasks")
    op.drop_table("review_policies")
