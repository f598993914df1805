"""When an interview's candidate and observer tokens open anything: the one rule behind every check of either token
(the candidate's page, report, consent, recourse, bookings, stream and WebRTC offer; the observer stream and ticket),
and the candidate token handed out again (the invitation link, booking e-mails and the booking page's start link).

The observer token watches an interview while it is scheduled or live. The candidate token also opens the
candidate's own routes after the interview ended, for SHANMIAN_CANDIDATE_TOKEN_DAYS, then nothing. A token past its
use is refused like a wrong one, and an unknown id like a wrong token, after the same work (a lookup, then a
constant-time comparison), so neither the answer nor its timing tells an outsider which ids exist or which tokens
once worked. Both are stored sealed (server/token_vault.py) and opened here only to be compared or handed out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.auth import token_matches
from server.db.status import ENDED, InterviewStatus
from server.db.tables import InterviewRow
from server.token_vault import CANDIDATE, OBSERVER, TokenVault, new_token

CANDIDATE_REFUSED = (
    "the interview id or its candidate token is not right (or ?token= is missing); use the join link you were sent"
)
# Compared against when the id is unknown: as long as a real token, matching nothing anyone was given.
_NO_INTERVIEW = new_token()
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


def seal_new_tokens(vault: TokenVault, row: InterviewRow) -> tuple[str, str]:
    """Give a new interview row fresh candidate and observer tokens, sealed; returns them in plain text, to hand
    out once."""
    candidate, observer = new_token(), new_token()
    row.candidate_token = vault.seal(CANDIDATE, row.id, candidate)
    row.observer_token = vault.seal(OBSERVER, row.id, observer)
    return candidate, observer


def candidate_token(vault: TokenVault, row: InterviewRow) -> str:
    """The interview's candidate token, to hand out again."""
    return vault.must_open(CANDIDATE, row.id, row.candidate_token)


def join_url(base_url: str, interview_id: str, candidate_token: str) -> str:
    # The token in the query, not the path: the logs redact `token=` values (server/log_redaction.py).
    return f"{base_url}/join/{interview_id}?token={candidate_token}"


def _opened(vault: TokenVault, purpose: str, row: InterviewRow | None, stored: str | None) -> str:
    if row is None or stored is None:
        return _NO_INTERVIEW
    return vault.open(purpose, row.id, stored) or _NO_INTERVIEW


def candidate_token_opens(vault: TokenVault, row: InterviewRow | None, token: str | None, days: int) -> bool:
    """True only for a known interview, its candidate token, and less than `days` after it ended."""
    matches = token_matches(_opened(vault, CANDIDATE, row, row.candidate_token if row else None), token)
    return matches and row is not None and not candidate_token_lapsed(row, days, datetime.now(UTC))


def observer_token_opens(vault: TokenVault, row: InterviewRow | None, token: str | None) -> bool:
    """True only for a known interview that is scheduled or live, and its observer token."""
    matches = token_matches(_opened(vault, OBSERVER, row, row.observer_token if row else None), token)
    return matches and row is not None and row.status in _OBSERVABLE
