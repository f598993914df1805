"""Secrets, signatures and rotation, checked against the Standard Webhooks reference library."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from hr.webhook_signing import (
    ROTATION_OVERLAP,
    EndpointSecrets,
    InvalidSecretError,
    new_secret,
    rotate,
    secret_key,
    signature,
    signed_headers,
)

BODY = '{"type":"report.ready","data":{"note":"面试完成"}}'.encode()


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(secret_key(first)) == 32


@pytest.mark.parametrize("bad", ["c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "whsec_not base64!", "whsec_c2hvcnQ="])
def test_a_secret_without_the_prefix_or_not_base64_or_too_short_is_refused(bad: str) -> None:
    with pytest.raises(InvalidSecretError):
        secret_key(bad)


def test_the_signature_equals_the_reference_librarys() -> None:
    secret, at = new_secret(), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert signature(secret, "msg_1", int(at.timestamp()), BODY) == Webhook(secret).sign("msg_1", at, BODY)


def test_signed_headers_verify_with_the_reference_library() -> None:
    secrets_now = EndpointSecrets(new_secret())
    headers = signed_headers(secrets_now, "msg_abc", datetime.now(UTC), BODY)
    assert headers["webhook-id"] == "msg_abc"
    assert Webhook(secrets_now.current).verify(BODY, headers)["data"]["note"] == "面试完成"


def test_a_rotation_signs_with_both_secrets_for_24_hours_then_only_the_new_one() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    old = EndpointSecrets(new_secret())
    rotated = rotate(old, new_secret(), now)

    assert rotated.signing(now) == (rotated.current, old.current)
    assert rotated.signing(now + ROTATION_OVERLAP - timedelta(seconds=1)) == (rotated.current, old.current)
    assert rotated.signing(now + ROTATION_OVERLAP) == (rotated.current,)


def test_a_second_rotation_drops_the_oldest_secret() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    first = EndpointSecrets(new_secret())
    second = rotate(first, new_secret(), now)
    third = rotate(second, new_secret(), now + timedelta(hours=1))
    assert first.current not in third.signing(now + timedelta(hours=1))
    assert third.signing(now + timedelta(hours=1)) == (third.current, second.current)


def test_endpoint_secrets_refuse_an_invalid_current_secret() -> None:
    with pytest.raises(InvalidSecretError):
        EndpointSecrets("hunter2")


def test_rotating_to_an_invalid_secret_is_refused() -> None:
    with pytest.raises(InvalidSecretError):
        rotate(EndpointSecrets(new_secret()), "whsec_", datetime.now(UTC))
