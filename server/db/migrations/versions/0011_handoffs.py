"""hand-offs: offer suggestions waiting for HR's named approval, the course catalogue, jobs' competency maps and
hires' course recommendations

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offer_suggestions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("interview_id", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("candidate_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("level_reason", sa.Text(), nullable=False),
        sa.Column("start_earliest", sa.Date(), nullable=False),
        sa.Column("start_latest", sa.Date(), nullable=False),
        sa.Column("scorecard_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["interview_id"], ["interviews.id"]),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("interview_id"),
    )
    with op.batch_alter_table("offer_suggestions") as batch_op:
        batch_op.create_index(batch_op.f("ix_offer_suggestions_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offer_suggestions_candidate_id"), ["candidate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offer_suggestions_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_offer_suggestions_created_at"), ["created_at"], unique=False)
    op.create_table(
        "training_courses",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("competencies", sa.JSON(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=32), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "job_competency_maps",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("dimensions", sa.JSON(), nullable=False),
        sa.Column("weak_below", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.create_table(
        "training_recommendations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("interview_id", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("candidate_id", sa.String(length=32), nullable=False),
        sa.Column("weak_below", sa.Float(), nullable=False),
        sa.Column("dimensions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["interview_id"], ["interviews.id"]),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("training_recommendations") as batch_op:
        batch_op.create_index(batch_op.f("ix_training_recommendations_interview_id"), ["interview_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_training_recommendations_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_training_recommendations_candidate_id"), ["candidate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_training_recommendations_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_table("training_recommendations")
    op.drop_table("job_competency_maps")
    op.drop_table("training_courses")
    op.drop_table("offer_suggestions")
