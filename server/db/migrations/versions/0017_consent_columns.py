"""consent columns: a recording's video consent, and the interview's AI notice acceptance (when, and how)

Video consent was a `+video` suffix of `interview_recordings.consent_source`: such rows get `video_consent` true and
lose the suffix; other rows keep it unknown (NULL), as nothing told an audio-only consent from an unanswered video
question. The AI notice was only an audit entry `ai_notice_accepted`: each interview gets its earliest one's moment
and `via`. The audit log is only read: its entries are hash-chained. The downgrade puts the suffix back and drops the
columns; the audit entries still hold the acceptances.

Revision ID: 0017
Revises: 0016
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from server.db.tables import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

VIDEO_SUFFIX = "+video"
NOTICE_SOURCES = ("hello", "rest")

# The columns as this revision reads and writes them; UTCDateTime copies the audit entry's moment as the server
# reads and writes moments on both databases.
_audit = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("interview_id", sa.String()),
    sa.column("action", sa.String()),
    sa.column("detail", sa.JSON()),
    sa.column("created_at", UTCDateTime()),
)
_interviews = sa.table(
    "interviews",
    sa.column("id", sa.String()),
    sa.column("ai_notice_accepted_at", UTCDateTime()),
    sa.column("ai_notice_source", sa.String()),
)
_recordings = sa.table(
    "interview_recordings",
    sa.column("consent_source", sa.String()),
    sa.column("video_consent", sa.Boolean()),
)


def _backfill_notices(conn: sa.Connection) -> None:
    """Each interview's first `ai_notice_accepted` entry (erased interviews' entries have no id and are skipped)."""
    query = (
        sa.select(_audit.c.interview_id, _audit.c.detail, _audit.c.created_at)
        .where(_audit.c.action == "ai_notice_accepted", _audit.c.interview_id.is_not(None))
        .order_by(_audit.c.id)
    )
    first: dict[str, Any] = {}
    for row in conn.execute(query):
        first.setdefault(row.interview_id, row)
    for interview_id, row in first.items():
        via = (row.detail or {}).get("via")
        conn.execute(
            sa.update(_interviews)
            .where(_interviews.c.id == interview_id)
            .values(ai_notice_accepted_at=row.created_at, ai_notice_source=via if via in NOTICE_SOURCES else None)
        )


def upgrade() -> None:
    with op.batch_alter_table("interview_recordings") as batch_op:
        batch_op.add_column(sa.Column("video_consent", sa.Boolean(), nullable=True))
    with op.batch_alter_table("interviews") as batch_op:
        batch_op.add_column(sa.Column("ai_notice_accepted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ai_notice_source", sa.String(length=8), nullable=True))
    source = _recordings.c.consent_source
    op.execute(
        sa.update(_recordings)
        .where(source.like(f"%{VIDEO_SUFFIX}"))
        .values(
            video_consent=True, consent_source=sa.func.substr(source, 1, sa.func.length(source) - len(VIDEO_SUFFIX))
        )
    )
    _backfill_notices(op.get_bind())


def downgrade() -> None:
    op.execute(
        sa.update(_recordings)
        .where(_recordings.c.video_consent.is_(True), _recordings.c.consent_source.is_not(None))
        .values(consent_source=_recordings.c.consent_source + VIDEO_SUFFIX)
    )
    with op.batch_alter_table("interviews") as batch_op:
        batch_op.drop_column("ai_notice_source")
        batch_op.drop_column("ai_notice_accepted_at")
    with op.batch_alter_table("interview_recordings") as batch_op:
        batch_op.drop_column("video_consent")
