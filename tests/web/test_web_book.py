"""The candidate's booking page in a real Chromium at phone width (360 px): the slots show in the browser's time zone,
one tap books, "change time" moves the booking and "cancel" cancels it, each checked against the REST answers; in
Chinese in Asia/Shanghai; a refusal shows the server's message; the "any time before" mode starts the interview.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from server_testkit import model_free_server
from web_testkit import launch_chromium, shot

from hr import scheduling

KEY = "book-page-key"
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
JOB = {
    "title": "Data engineer",
    "dimensions": [{"name": "sql", "weight": 1.0}],
    "questions": [{"text": "Tell me about your sql work.", "dimension": "sql"}],
}
WEEK = [{"weekday": d, "start": "08:00", "end": "12:00"} for d in range(7)]


@dataclass
class Site:
    base: str

    async def call(self, method: str, path: str, body: Any = None, **params: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base, timeout=60, headers={"Authorization": f"Bearer {KEY}"}) as c:
            return await c.request(method, path, json=body, params=params or None)

    async def interview(self, job_id: str | None = None, **availability: Any) -> dict[str, Any]:
        """An interview of a new job with `availability` (or of `job_id`, as it is)."""
        if job_id is None:
            job_id = str((await self.call("POST", "/v1/jobs", JOB)).json()["id"])
            body = {"time_zone": "Europe/London", "weekly": WEEK, "slot_minutes": 60, "min_notice_minutes": 0}
            put = await self.call("PUT", f"/v1/jobs/{job_id}/availability", body | availability)
            assert put.status_code == 200, put.text
        c = await self.call("POST", "/v1/candidates", {"name": "Lee Min", "email": "lee@candidates.example"})
        iv = await self.call("POST", "/v1/interviews", {"job_id": job_id, "candidate_id": c.json()["id"]})
        return dict(iv.json())

    async def booking(self, iv: dict[str, Any]) -> dict[str, Any]:
        got = await self.call("GET", f"/v1/interviews/{iv['id']}/booking", token=iv["candidate_token"])
        assert got.status_code == 200, got.text
        return dict(got.json())

    def page_url(self, iv: dict[str, Any], lang: str = "en") -> str:
        return f"{self.base}/static/book.html?interview={iv['id']}&token={iv['candidate_token']}&lang={lang}"


@pytest.fixture(scope="module")
async def site(free_port: Callable[[], int]) -> AsyncIterator[Site]:
    async with model_free_server(free_port(), KEY, "shanmian-book-page-") as server:
        yield Site(server.base)


@pytest.fixture(scope="module")
async def browser(playwright: Any, chromium_path: Path) -> AsyncIterator[Any]:
    browser = await launch_chromium(playwright, chromium_path)
    yield browser
    await browser.close()


async def _open(browser: Any, link: str, zone: str) -> Any:
    context = await browser.new_context(**PHONE, timezone_id=zone)
    page = await context.new_page()
    await page.goto(link)
    await page.wait_for_selector("body[data-loaded='1']", timeout=30_000)
    return page


async def _fits(page: Any) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide at a 360 px viewport"


def _hhmm(iso: str, zone: str) -> str:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ZoneInfo(zone)).strftime("%H:%M")


async def test_a_candidate_books_changes_and_cancels_on_a_phone_in_their_own_zone(site: Site, browser: Any) -> None:
    iv = await site.interview()
    page = await _open(browser, site.page_url(iv), "America/New_York")
    try:
        await _fits(page)
        assert "America/New_York" in await page.inner_text("#zone")
        buttons = page.locator("#slots button")
        assert await buttons.count() > 4
        first = await buttons.nth(1).get_attribute("data-start")
        assert first is not None
        # 08:00-12:00 in London is shown as New York's wall time, whatever the season.
        assert await buttons.nth(1).inner_text() == _hhmm(first, "America/New_York")

        await buttons.nth(1).click()
        await page.wait_for_selector("#current:not(.hidden)")
        booked = await site.booking(iv)
        assert booked["status"] == "confirmed" and booked["start"].replace("Z", "+00:00") == first.replace(
            "Z", "+00:00"
        )
        assert _hhmm(first, "America/New_York") in await page.inner_text("#current-when")
        assert await page.locator("#picker").is_hidden()
        await _fits(page)
        await shot(page, "book-phone-booked")

        await page.click("#change")
        await page.wait_for_selector("#picker:not(.hidden)")
        second = await buttons.nth(3).get_attribute("data-start")
        await buttons.nth(3).click()
        await page.wait_for_selector("#picker.hidden", state="attached")
        moved = await site.booking(iv)
        assert moved["revision"] == 1 and moved["start"].replace("Z", "+00:00") == str(second).replace("Z", "+00:00")

        await page.click("#cancel")
        await page.wait_for_selector("#change.hidden", state="attached")
        assert (await site.booking(iv))["status"] == "cancelled"
        assert "cancelled" in await page.inner_text("#current-title")
        assert await page.locator("#picker").is_visible()
    finally:
        await page.context.close()


async def test_the_page_is_in_chinese_in_shanghai_and_says_the_servers_refusal_in_chinese(
    site: Site, browser: Any
) -> None:
    iv = await site.interview(seats=1)
    page = await _open(browser, site.page_url(iv, "zh"), "Asia/Shanghai")
    try:
        await _fits(page)
        assert await page.inner_text("#title") == "预约面试"
        assert await page.inner_text("#picker-title") == "选择时间"
        buttons = page.locator("#slots button")
        start = str(await buttons.nth(0).get_attribute("data-start"))
        assert await buttons.nth(0).inner_text() == _hhmm(start, "Asia/Shanghai")
        await shot(page, "book-phone-zh")
        # Another candidate of the same job takes the slot's one seat while the page is open.
        rival = await site.interview(job_id=iv["job_id"])
        taken = await site.call(
            "POST", f"/v1/interviews/{rival['id']}/booking", {"start": start}, token=rival["candidate_token"]
        )
        assert taken.status_code == 201, taken.text
        await buttons.nth(0).click()
        await page.wait_for_selector("#status:not(.hidden)")
        assert await page.inner_text("#status") == "这个时间刚被别人预约了，请选择其他时间。"
        assert start not in [await b.get_attribute("data-start") for b in await buttons.all()]
    finally:
        await page.context.close()


async def test_the_any_time_before_mode_starts_the_interview(site: Site, browser: Any) -> None:
    deadline = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    iv = await site.interview(start_before=deadline)
    page = await _open(browser, site.page_url(iv), "Europe/Berlin")
    try:
        await _fits(page)
        assert await page.locator("#picker").is_hidden()
        assert await page.locator("#start").is_enabled()
        await page.click("#start")
        # The join page drops the token from its address (web_client/js/link-token.js) once it has it.
        await page.wait_for_url(f"**/join/{iv['id']}", timeout=30_000)
        await page.locator("#intro").wait_for()
    finally:
        await page.context.close()


async def test_the_join_page_leads_to_the_booking_page_and_says_when_it_is_booked(site: Site, browser: Any) -> None:
    iv = await site.interview()
    context = await browser.new_context(**PHONE, timezone_id="America/New_York", locale="en-US")
    page = await context.new_page()
    try:
        await page.goto(iv["join_url"])
        await page.wait_for_selector("#booking:not(.hidden)", timeout=30_000)
        assert await page.inner_text("#booking-when") == "You have not chosen a time yet."
        await page.click("#booking-link")
        await page.wait_for_selector("body[data-loaded='1']", timeout=30_000)
        assert "America/New_York" in await page.inner_text("#zone")
        await page.locator("#slots button").nth(1).click()
        await page.wait_for_selector("#current:not(.hidden)")

        await page.goto(iv["join_url"])
        await page.wait_for_selector("#booking:not(.hidden)", timeout=30_000)
        assert (await page.inner_text("#booking-when")).startswith("Your interview is booked for ")

        # A job that offers no slots: nothing to choose on the join page.
        plain = await site.call("POST", "/v1/jobs", JOB)
        other = await site.interview(job_id=str(plain.json()["id"]))
        await page.goto(other["join_url"])
        await page.wait_for_selector("#intro:not(.hidden)", timeout=30_000)
        assert await page.locator("#booking").is_hidden()
    finally:
        await context.close()


def test_every_refusal_a_candidate_can_get_has_its_chinese_words() -> None:
    codes = {
        cls.code
        for cls in vars(scheduling).values()
        if isinstance(cls, type) and issubclass(cls, scheduling.BookingError) and cls is not scheduling.BookingError
    }
    script = (Path(__file__).resolve().parents[2] / "web_client" / "js" / "book.js").read_text(encoding="utf-8")
    table = script.split("const REFUSALS_ZH = {", 1)[1].split("};", 1)[0]
    assert codes and codes == set(re.findall(r"^\s*(\w+):", table, re.M))
