"""self-scheduling and reminders: jobs' availability, bookings, the slot seat ledger and the planned reminders

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_availability",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("weekly", sa.JSON(), nullable=False),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("min_notice_s", sa.Integer(), nullable=False),
        sa.Column("horizon_s", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.create_table(
        "bookings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("interview_id", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("candidate_id", sa.String(length=32), nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("slot_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("shown_zone", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["interview_id"], ["interviews.id"]),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.create_index(batch_op.f("ix_bookings_interview_id"), ["interview_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bookings_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bookings_candidate_id"), ["candidate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bookings_status"), ["status"], unique=False)
    op.create_table(
        "slot_seats",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("interview_id", sa.String(length=32), nullable=False),
        sa.Column("booking_id", sa.String(length=40), nullable=True),
        sa.Column("hold_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["interview_id"], ["interviews.id"]),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("job_id", "slot_start", "seat"),
    )
    with op.batch_alter_table("slot_seats") as batch_op:
        batch_op.create_index(batch_op.f("ix_slot_seats_interview_id"), ["interview_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_slot_seats_booking_id"), ["booking_id"], unique=False)
    op.create_table(
        "booking_reminders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("booking_id", sa.String(length=40), nullable=False),
        sa.Column("interview_id", sa.String(length=32), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offset_s", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("mail_id", sa.String(length=40), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"]),
        sa.ForeignKeyConstraint(["interview_id"], ["interviews.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("booking_reminders") as batch_op:
        batch_op.create_index(batch_op.f("ix_booking_reminders_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_booking_reminders_interview_id"), ["interview_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_booking_reminders_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_booking_reminders_state"), ["state"], unique=False)


def downgrade() -> None:
    op.drop_table("booking_reminders")
    op.drop_table("slot_seats")
    op.drop_table("bookings")
    op.drop_table("job_availability")
