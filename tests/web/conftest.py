"""Fixtures for the web tests: one headless Chromium per module (Debian's package, driven by Playwright)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from web_testkit import require_chromium


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    return require_chromium()


@pytest.fixture(scope="module")
async def playwright(chromium_path: Path) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    pw = await async_playwright().start()
    yield pw
    await pw.stop()
