"""The candidate's pages take their token out of the address (issue 14, Low: a token in the address bar ends up in
bookmarks, copied links and the tab's history) in a real Chromium: the join page and the booking page load with the
token, show an address without it, still work after a reload in the same tab, and a new tab given that address
needs the link again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_testkit import model_free_server
from web_testkit import launch_chromium

KEY = "link-token-page-key"
JOB = {
    "title": "Data engineer",
    "dimensions": [{"name": "sql", "weight": 1.0}],
    "questions": [{"text": "Tell me about your sql work.", "dimension": "sql"}],
}
WEEK = [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)]


@pytest.fixture(scope="module")
async def site(free_port: Callable[[], int]) -> AsyncIterator[str]:
    async with model_free_server(free_port(), KEY, "shanmian-link-token-") as server:
        yield server.base


@pytest.fixture(scope="module")
async def browser(playwright: Any, chromium_path: Path) -> AsyncIterator[Any]:
    browser = await launch_chromium(playwright, chromium_path)
    yield browser
    await browser.close()


async def _interview(base: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=60, headers={"Authorization": f"Bearer {KEY}"}) as c:
        job = (await c.post("/v1/jobs", json=JOB)).json()["id"]
        body = {"time_zone": "UTC", "weekly": WEEK, "slot_minutes": 60, "min_notice_minutes": 0}
        assert (await c.put(f"/v1/jobs/{job}/availability", json=body)).status_code == 200
        cand = (await c.post("/v1/candidates", json={"name": "Lee Min", "email": "lee@candidates.example"})).json()
        iv = await c.post("/v1/interviews", json={"job_id": job, "candidate_id": cand["id"], "mode": "text"})
        return dict(iv.json())


async def test_the_join_page_drops_its_token_from_the_address_and_still_works_after_a_reload(
    site: str, browser: Any
) -> None:
    iv = await _interview(site)
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    await page.goto(iv["join_url"])
    await page.locator("#intro").wait_for()
    assert iv["candidate_token"] in iv["join_url"]
    assert page.url == f"{site}/join/{iv['id']}", "the address shows no token"

    await page.reload()
    await page.locator("#intro").wait_for()
    assert page.url == f"{site}/join/{iv['id']}"

    other = await (await browser.new_context(locale="en-US")).new_page()
    await other.goto(page.url)
    await other.locator("#loading .error").wait_for()
    assert "not valid" in await other.locator("#loading").inner_text()


async def test_the_booking_page_drops_its_token_from_the_address_and_keeps_its_other_parameters(
    site: str, browser: Any
) -> None:
    iv = await _interview(site)
    page = await (await browser.new_context(locale="en-US")).new_page()
    await page.goto(f"{site}/static/book.html?interview={iv['id']}&token={iv['candidate_token']}&lang=en")
    await page.wait_for_selector("body[data-loaded='1']")
    assert page.url == f"{site}/static/book.html?interview={iv['id']}&lang=en"
    assert await page.locator("#slots button").count() > 0, "the slots came with the token"

    await page.reload()
    await page.wait_for_selector("body[data-loaded='1']")
    assert await page.locator("#slots button").count() > 0
