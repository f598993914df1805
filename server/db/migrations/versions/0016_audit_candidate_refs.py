"""audit entries about a candidate: the candidate's id, its salt, and the salted reference the chain hashes

Entries written before keep their hashes: the canonical form holds `candidate_ref` only when an entry has one
(server/db/audit_chain.py). A downgrade drops the references with the ids: an entry that had one no longer verifies
after it (as a downgrade below 0010 drops the whole chain); take a JSONL export first.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.add_column(sa.Column("candidate_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("candidate_salt", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("candidate_ref", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_log_candidate_id"), ["candidate_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_candidate_id"))
        batch_op.drop_column("candidate_ref")
        batch_op.drop_column("candidate_salt")
        batch_op.drop_column("candidate_id")
