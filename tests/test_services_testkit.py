"""services_testkit: a missing need skips on a laptop and fails under SHANMIAN_REQUIRE_SERVICES=1, and no test
skips around it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from services_testkit import unavailable

TESTS = Path(__file__).resolve().parent
# Skipping directly (or at collection) would pass a CI run that never ran the test. The root conftest's marker skip
# is the same rule at collection time (it stops the run under SHANMIAN_REQUIRE_SERVICES=1).
ALLOWED = {Path("services_testkit.py"), Path("conftest.py"), Path(Path(__file__).name)}
DIRECT_SKIP = re.compile(r"\bpytest\.skip\(|\bimportorskip\(|\bmark\.skip(if)?\b")


def test_a_missing_need_fails_where_everything_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHANMIAN_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="SHANMIAN_REQUIRE_SERVICES=1 but redis-server is not installed"):
        unavailable("redis-server is not installed")


def test_a_missing_need_skips_with_its_how_to_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHANMIAN_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"^redis-server is not installed; apt-get install redis-server$"):
        unavailable("redis-server is not installed; apt-get install redis-server")


def test_every_skip_in_the_suite_goes_through_unavailable() -> None:
    offenders = [
        f"{path.relative_to(TESTS)}:{n}: {line.strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.relative_to(TESTS) not in ALLOWED
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if DIRECT_SKIP.search(line)
    ]
    assert offenders == []
