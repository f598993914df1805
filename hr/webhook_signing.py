"""Standard Webhooks 1.0 signatures: `whsec_` secrets, the three `webhook-*` headers, and secret rotation.

A delivery is signed with every secret the endpoint currently accepts, so a receiver mid-rotation verifies either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

SECRET_PREFIX = "whsec_"
# The spec asks for 24 to 64 random bytes; 32 matches HMAC-SHA256's block of security.
SECRET_BYTES = 32
ROTATION_OVERLAP = timedelta(hours=24)


class InvalidSecretError(ValueError):
    """A secret that is not `whsec_` followed by base64 of 24 to 64 bytes."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a `whsec_` secret; refuses anything else so a typo never signs with a weak key."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSecretError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise InvalidSecretError("a webhook secret is base64 after its prefix") from exc
    if not 24 <= len(key) <= 64:
        raise InvalidSecretError(f"a webhook secret holds 24 to 64 bytes, this one {len(key)}")
    return key


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature: HMAC-SHA256 over `{id}.{timestamp}.{body}`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass(frozen=True, slots=True)
class EndpointSecrets:
    """The secret an endpoint signs with now, and the one it replaced while the overlap lasts."""

    current: str
    previous: str | None = None
    previous_until: datetime | None = None

    def __post_init__(self) -> None:
        secret_key(self.current)

    def signing(self, now: datetime) -> tuple[str, ...]:
        if self.previous is not None and self.previous_until is not None and now < self.previous_until:
            return (self.current, self.previous)
        return (self.current,)


def rotate(secrets_now: EndpointSecrets, new: str, now: datetime) -> EndpointSecrets:
    """Start signing with `new`; the current secret keeps signing too for 24 h so receivers can switch."""
    secret_key(new)
    return replace(secrets_now, current=new, previous=secrets_now.current, previous_until=now + ROTATION_OVERLAP)


def signed_headers(secrets_now: EndpointSecrets, message_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers for one attempt."""
    timestamp = int(at.timestamp())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, message_id, timestamp, body) for s in secrets_now.signing(at)),
    }
