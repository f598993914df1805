"""server/token_vault.py: a sealed token opens only with its key, for its row and purpose; plain tokens stored
before sealing still open; the key comes from the setting or from a key file made once, readable by its owner only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from server.token_vault import (
    CANDIDATE,
    KEY_FILE,
    OBSERVER,
    SEALED_PREFIX,
    TokenKeyError,
    TokenVault,
    load_vault,
    new_token,
)

SECRET = "an-operator's-token-key-of-enough-length"


def test_a_sealed_token_opens_to_itself_and_does_not_show_it() -> None:
    vault, token = TokenVault.from_secret(SECRET), new_token()
    sealed = vault.seal(CANDIDATE, "iv1", token)
    assert sealed.startswith(SEALED_PREFIX) and token not in sealed
    assert vault.open(CANDIDATE, "iv1", sealed) == token
    assert vault.seal(CANDIDATE, "iv1", token) != sealed, "a fresh nonce each time"


def test_a_sealed_token_opens_nothing_on_another_row_purpose_or_key() -> None:
    vault, token = TokenVault.from_secret(SECRET), new_token()
    sealed = vault.seal(CANDIDATE, "iv1", token)
    assert vault.open(CANDIDATE, "iv2", sealed) is None
    assert vault.open(OBSERVER, "iv1", sealed) is None
    assert TokenVault.from_secret(SECRET + "!").open(CANDIDATE, "iv1", sealed) is None
    assert vault.open(CANDIDATE, "iv1", sealed[:-2]) is None, "a damaged seal"
    assert vault.open(CANDIDATE, "iv1", SEALED_PREFIX + "not base64 at all!") is None
    with pytest.raises(TokenKeyError, match="does not open with this node's token key"):
        vault.must_open(CANDIDATE, "iv2", sealed)  # what a node hands out again must open: never a silent gap


def test_a_token_stored_before_sealing_opens_as_stored() -> None:
    assert TokenVault.ephemeral().open(CANDIDATE, "iv1", "plain-token-from-an-older-version") == (
        "plain-token-from-an-older-version"
    )


def test_a_short_operator_key_is_refused_with_what_to_do() -> None:
    with pytest.raises(TokenKeyError, match="at least 32"):
        TokenVault.from_secret("short")


def test_the_key_file_is_made_once_readable_by_its_owner_only_and_kept(tmp_path: Path) -> None:
    first = load_vault("", tmp_path)
    mode = stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode)
    assert mode == 0o600
    sealed = first.seal(CANDIDATE, "iv1", "t")
    assert load_vault("", tmp_path).open(CANDIDATE, "iv1", sealed) == "t", "the next start reads the same key"
    assert load_vault(SECRET, tmp_path).open(CANDIDATE, "iv1", sealed) is None, "the setting wins over the file"


def test_a_damaged_key_file_stops_the_start_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("not a key\n")
    with pytest.raises(TokenKeyError, match="restore it from a backup"):
        load_vault("", tmp_path)
