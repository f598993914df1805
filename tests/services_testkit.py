"""What a test needs from outside the checkout (servers, binaries, browsers, packaged models, shared fixtures).

Missing on a laptop, the test skips with a how-to; with SHANMIAN_REQUIRE_SERVICES=1 (CI) it fails instead, so a
green CI always means every test really ran. Every such check in the suite goes through `unavailable`.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def required() -> bool:
    """Whether this run must have everything (SHANMIAN_REQUIRE_SERVICES=1)."""
    return os.environ.get("SHANMIAN_REQUIRE_SERVICES") == "1"


def unavailable(problem: str) -> NoReturn:
    """Skip the test for `problem` (a sentence ending in how to fix it), or fail it where everything is required."""
    if required():
        pytest.fail(f"SHANMIAN_REQUIRE_SERVICES=1 but {problem}", pytrace=False)
    pytest.skip(problem)
