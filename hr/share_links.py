"""Read-only links that share one interview with a hiring manager: a random 192-bit token of which only the SHA-256
is kept, an expiry (default 7 days), revocation, and why a link no longer opens.

Plain decisions; the store that keeps links is the caller's (server/db/reviews.py).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

DEFAULT_EXPIRY = timedelta(days=7)
MAX_EXPIRY = timedelta(days=90)


class ShareState(StrEnum):
    OPEN = "open"
    EXPIRED = "expired"
    REVOKED = "revoked"


class ShareClosedError(Exception):
    """The link does not open the interview (any more); the message says why, for the person holding it."""

    code = "share_link_invalid"


class ShareExpiredError(ShareClosedError):
    code = "share_link_expired"


class ShareRevokedError(ShareClosedError):
    code = "share_link_revoked"


@dataclass(frozen=True, slots=True)
class ShareLink:
    id: str
    interview_id: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def state(self, now: datetime) -> ShareState:
        if self.revoked_at is not None:
            return ShareState.REVOKED
        return ShareState.EXPIRED if now >= self.expires_at else ShareState.OPEN


def token_hash(token: str) -> str:
    """What is stored and looked up: a database read gives nobody a working link."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_share(interview_id: str, now: datetime, expires_in: timedelta = DEFAULT_EXPIRY) -> tuple[ShareLink, str]:
    """A link and its token (shown once, to HR, inside the URL)."""
    if not timedelta(0) < expires_in <= MAX_EXPIRY:
        raise ValueError(f"a share link lasts more than 0 and at most {MAX_EXPIRY.days} days")
    link = ShareLink("sh_" + secrets.token_hex(12), interview_id, now, now + expires_in)
    return link, secrets.token_urlsafe(24)  # 24 random bytes: 192 bits


def check_share(link: ShareLink, now: datetime) -> None:
    """Nothing if the link opens its interview now; otherwise why not."""
    state = link.state(now)
    if state is ShareState.REVOKED:
        raise ShareRevokedError("this share link was revoked by the employer; ask them for a new one")
    if state is ShareState.EXPIRED:
        raise ShareExpiredError(
            f"this share link expired on {link.expires_at:%Y-%m-%d %H:%M} UTC; ask the employer for a new one"
        )
