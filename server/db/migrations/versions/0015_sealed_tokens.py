"""sealed tokens: interviews' and invitations' tokens widened to hold their sealed form, and the key's fingerprint

The tokens themselves are sealed by the server when it starts (server/db/sealed_tokens.py): the key is not the
database's to know.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_WIDENED = (("interviews", ("candidate_token", "observer_token")), ("invitations", ("token",)))


def upgrade() -> None:
    for table, columns in _WIDENED:
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.String(length=128), existing_type=sa.String(length=64))
    op.create_table(
        "token_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    # The columns stay wide: narrowing them would truncate (PostgreSQL: refuse) every sealed token. Tokens sealed
    # under this revision open only on a server that has the key, not on an older one.
    op.drop_table("token_key")
