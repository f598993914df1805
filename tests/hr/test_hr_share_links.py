"""hr.share_links: a 192-bit token kept only as its hash, the expiry (default 7 days, at most 90), and why a link no
longer opens: expired at its instant, revoked whatever its expiry."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from hr.share_links import (
    ShareExpiredError,
    ShareRevokedError,
    ShareState,
    check_share,
    new_share,
    token_hash,
)

NOW = datetime(2027, 6, 1, 8, 0, tzinfo=UTC)


def test_a_new_link_lasts_seven_days_and_its_token_carries_192_random_bits() -> None:
    link, token = new_share("iv1", NOW)
    assert link.expires_at - link.created_at == timedelta(days=7) and link.interview_id == "iv1"
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 == 192
    other_link, other_token = new_share("iv1", NOW)
    assert other_token != token and other_link.id != link.id
    assert token_hash(token) != token and len(token_hash(token)) == 64 and token_hash(token) == token_hash(token)


@pytest.mark.parametrize("days", [0, -1, 91])
def test_an_expiry_outside_0_to_90_days_is_refused(days: int) -> None:
    with pytest.raises(ValueError, match="at most 90 days"):
        new_share("iv1", NOW, timedelta(days=days))


def test_a_link_opens_until_its_expiry_instant_and_not_at_it() -> None:
    link, _ = new_share("iv1", NOW, timedelta(days=2))
    check_share(link, link.expires_at - timedelta(microseconds=1))
    assert link.state(link.expires_at) is ShareState.EXPIRED
    with pytest.raises(ShareExpiredError, match="expired on 2027-06-03 08:00 UTC"):
        check_share(link, link.expires_at)


def test_a_revoked_link_is_refused_as_revoked_even_before_its_expiry() -> None:
    link, _ = new_share("iv1", NOW)
    revoked = type(link)(link.id, link.interview_id, link.created_at, link.expires_at, NOW + timedelta(hours=1))
    with pytest.raises(ShareRevokedError, match="revoked by the employer"):
        check_share(revoked, NOW + timedelta(hours=2))
