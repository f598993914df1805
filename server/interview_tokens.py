"""When an interview's candidate and observer tokens open anything: the one rule behind every check of either token
(the candidate's page, report, consent, recourse, bookings, stream and WebRTC offer; the observer stream and ticket).

The observer token watches an interview while it is scheduled or live. The candidate token also opens the
candidate's own routes after the interview ended, for SHANMIAN_CANDIDATE_TOKEN_DAYS, then nothing. A token past its
use is refused like a wrong one, and an unknown id like a wrong token, after the same work (a lookup, then a
constant-time comparison), so neither the answer nor its timing tells an outsider which ids exist or which tokens
once worked.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from server.auth import token_matches
from server.db.status import ENDED, InterviewStatus
from server.db.tables import InterviewRow

CANDIDATE_REFUSED = (
    "the interview id or its candidate token is not right (or ?token= is missing); use the join link you were sent"
)
# Compared against when the id is unknown: as long as a real token, matching nothing anyone was given.
_NO_INTERVIEW = secrets.token_urlsafe(24)
# An observer watches the interview happen; afterwards HR reads it with their own keys.
_OBSERVABLE = frozenset({InterviewStatus.SCHEDULED, InterviewStatus.LIVE})


def candidate_token_lapsed(row: InterviewRow, days: int, now: datetime) -> bool:
    """Whether the interview ended more than `days` ago; one not yet ended never lapses (an invitation's link has its
    own expiry, which abandons the interview, and from then the days count)."""
    if row.status not in ENDED:
        return False
    # Every status change to an ended one sets ended_at (server/db/store.py); created_at covers a row that lacks it.
    ended = row.ended_at or row.created_at
    return now >= ended + timedelta(days=days)


def candidate_token_opens(row: InterviewRow | None, token: str | None, days: int) -> bool:
    """True only for a known interview, its candidate token, and less than `days` after it ended."""
    matches = token_matches(row.candidate_token if row is not None else _NO_INTERVIEW, token)
    return matches and row is not None and not candidate_token_lapsed(row, days, datetime.now(UTC))


def observer_token_opens(row: InterviewRow | None, token: str | None) -> bool:
    """True only for a known interview that is scheduled or live, and its observer token."""
    matches = token_matches(row.observer_token if row is not None else _NO_INTERVIEW, token)
    return matches and row is not None and row.status in _OBSERVABLE
