"""Interviews' and invitations' tokens at rest: sealed with a key kept outside the database.

A copy of the database (a backup, a dump, a replica) must not let anyone join, watch or book an interview. The
tokens cannot simply be hashed like API keys and share tokens: the server hands the candidate token out again long
after it was made (the invitation link's redirect, the booking and reminder e-mails, the booking page's start
link) and the invitation link again in HR's invitation reads. So they are encrypted (AES-GCM, 256-bit key) and
bound to their row and purpose as associated data, so a sealed token copied onto another row or column opens
nothing.

The key comes from SHANMIAN_TOKEN_KEY, or else from `token.key` in the data directory, written once on the first
start. Every node of one database needs the same key: the database keeps an HMAC of it (never the key), and a node
with another key refuses to start instead of refusing every candidate. A token stored before sealing (a row older
than migration 0015, or written by an older node during an upgrade) still opens; the node seals such rows when it
starts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEALED_PREFIX: Final = "v1."  # never in a plain token: token_urlsafe's alphabet has no "."
CANDIDATE: Final = "interview.candidate_token"
OBSERVER: Final = "interview.observer_token"
INVITATION: Final = "invitation.token"
MAIL_MESSAGE: Final = "mail_outbox.message"  # invitation, booking and reminder e-mails carry the links
STORED_ANSWER: Final = "idempotency_keys.answer"  # a replayed POST /v1/invitations answer: it holds the links
KEY_FILE: Final = "token.key"
_NONCE_BYTES: Final = 12
_MIN_KEY_CHARS: Final = 32


class TokenKeyError(ValueError):
    """The configured key is unusable, or it is not the key the database's tokens were sealed with."""


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 24 random bytes: 192 bits


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenVault:
    """Seals and opens tokens with one key. Pure and cheap (microseconds): called on every check of a token."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise TokenKeyError("the token key must be 32 bytes")
        self._aead = AESGCM(key)
        self.fingerprint = hmac.new(key, b"shanmian token key fingerprint", hashlib.sha256).hexdigest()

    @classmethod
    def from_secret(cls, secret: str) -> TokenVault:
        """A key from an operator's secret (SHANMIAN_TOKEN_KEY): any text of 32 characters or more."""
        if len(secret) < _MIN_KEY_CHARS:
            raise TokenKeyError(
                f"SHANMIAN_TOKEN_KEY has {len(secret)} characters: use at least {_MIN_KEY_CHARS} random ones "
                '(e.g. python -c "import secrets; print(secrets.token_urlsafe(32))")'
            )
        return cls(hashlib.sha256(secret.encode()).digest())

    @classmethod
    def ephemeral(cls) -> TokenVault:
        """A key of this process alone: what it seals opens nowhere else (a store opened without a configured key)."""
        return cls(secrets.token_bytes(32))

    def seal(self, purpose: str, row_id: str, token: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, token.encode(), f"{purpose}:{row_id}".encode())
        return SEALED_PREFIX + _b64(nonce + sealed)

    def open(self, purpose: str, row_id: str, stored: str) -> str | None:
        """The token in `stored`; None when it does not open with this key for this row and purpose."""
        if not stored.startswith(SEALED_PREFIX):
            return stored  # stored before sealing; sealed when a node starts (`seal_plain_tokens`)
        try:
            raw = _unb64(stored[len(SEALED_PREFIX) :])
            opened = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], f"{purpose}:{row_id}".encode())
        except (InvalidTag, ValueError):
            return None
        return opened.decode()

    def must_open(self, purpose: str, row_id: str, stored: str) -> str:
        """`open`, for what the node's start checked its key opens (server/db/sealed_tokens.py): TokenKeyError if
        not (the key file was replaced while the node ran)."""
        opened = self.open(purpose, row_id, stored)
        if opened is None:
            raise TokenKeyError(f"the {purpose} of {row_id} does not open with this node's token key")
        return opened


def load_vault(secret: str, data_dir: Path) -> TokenVault:
    """The node's vault: from `secret` when set, else from the data directory's key file (made on the first start,
    readable by this user only)."""
    if secret:
        return TokenVault.from_secret(secret)
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = path.read_text().strip()
        try:
            key = _unb64(text)
        except ValueError:
            key = b""
        if len(key) != 32:
            raise TokenKeyError(
                f"{path} does not hold a token key (32 bytes, base64): restore it from a backup, or set "
                "SHANMIAN_TOKEN_KEY to the key the other nodes use"
            ) from None
        return TokenVault(key)
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "w") as f:
        f.write(_b64(key) + "\n")
    return TokenVault(key)
