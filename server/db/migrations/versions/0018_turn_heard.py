"""turns.heard: the live transcript a spoken answer's revision replaced (the words the interview's rules decided on)

`answer` holds what is kept and scored: the turn decoded again from its whole audio once it was over. A session
rebuilt from its stored turns replays the rules on `heard` where it is set, so it reaches the questions that were
really asked. Rows written before keep NULL: their answer is what was heard.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch_op:
        batch_op.add_column(sa.Column("heard", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch_op:
        batch_op.drop_column("heard")
