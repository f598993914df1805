"""audit chain: the audit log becomes append-only and hash-chained; entries written before are chained in id order

Revision ID: 0010
Revises: 0009
"""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from server.db.audit_chain import GENESIS, ChainLink, link_hash, new_salt, salted_ref
from server.db.tables import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The columns as this revision reads and writes them; UTCDateTime reads a moment back exactly as the server will, so
# the hashes written here are the ones the verifier recomputes.
_audit = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("seq", sa.Integer()),
    sa.column("interview_id", sa.String()),
    sa.column("interview_salt", sa.String()),
    sa.column("interview_ref", sa.String()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("detail", sa.JSON()),
    sa.column("created_at", UTCDateTime()),
    sa.column("prev_hash", sa.String()),
    sa.column("row_hash", sa.String()),
)


def _chain_existing(conn: sa.Connection) -> tuple[int, str]:
    """Gives every entry already written its place in the chain, oldest id first; returns the head."""
    seq, prev = 0, GENESIS
    rows: list[Any] = list(conn.execute(sa.select(_audit).order_by(_audit.c.id)))
    for row in rows:
        seq += 1
        salt = new_salt() if row.interview_id is not None else None
        created_at = row.created_at or datetime.now(UTC)
        link = ChainLink(
            seq=seq,
            prev_hash=prev,
            created_at=created_at,
            actor=row.actor,
            action=row.action,
            interview_ref=salted_ref(salt, row.interview_id) if salt else None,
            detail=row.detail or None,
        )
        prev = link_hash(link)
        conn.execute(
            sa.update(_audit)
            .where(_audit.c.id == row.id)
            .values(
                seq=seq,
                interview_salt=salt,
                interview_ref=link.interview_ref,
                created_at=created_at,
                detail=link.detail,
                prev_hash=link.prev_hash,
                row_hash=prev,
            )
        )
    return seq, prev


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("interview_salt", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("interview_ref", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    head_seq, head_hash = _chain_existing(op.get_bind())
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("row_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_audit_log_seq", ["seq"])
        batch_op.create_index(batch_op.f("ix_audit_log_created_at"), ["created_at"], unique=False)
    chain = op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("start_seq", sa.Integer(), nullable=False),
        sa.Column("start_prev_hash", sa.String(length=64), nullable=False),
        sa.Column("head_seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(
        chain, [{"id": 1, "start_seq": 1, "start_prev_hash": GENESIS, "head_seq": head_seq, "head_hash": head_hash}]
    )


def downgrade() -> None:
    op.drop_table("audit_chain")
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_created_at"))
        batch_op.drop_constraint("uq_audit_log_seq", type_="unique")
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("interview_ref")
        batch_op.drop_column("interview_salt")
        batch_op.drop_column("seq")
