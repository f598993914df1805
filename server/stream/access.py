"""Who may act as an interview's candidate: the one check behind the candidate stream, the WebRTC offer and consent.

An unknown interview id and a wrong token get the same answer, after the same work (a lookup, then a constant-time
comparison), so neither the answer nor its timing tells an outsider which ids exist.
"""

from __future__ import annotations

import secrets

from server.auth import token_matches
from server.db.tables import InterviewRow

CANDIDATE_REFUSED = (
    "the interview id or its candidate token is not right (or ?token= is missing); use the join link you were sent"
)
# Compared against when the id is unknown: as long as a real token, matching nothing anyone was given.
_NO_INTERVIEW = secrets.token_urlsafe(24)


def candidate_may_join(row: InterviewRow | None, token: str | None) -> bool:
    """True only for a known interview and its candidate token; the comparison runs either way."""
    matches = token_matches(row.candidate_token if row is not None else _NO_INTERVIEW, token)
    return matches and row is not None
