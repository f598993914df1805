"""The printable bias audit page (/hr/audit) in a real Chromium, on a real server with 40 stored interviews and their
self-identification: every impact-ratio table of GET /v1/audits/bias is on the page with the same figures, flags and
unknown counts; the page fits a 360 px phone, is in Chinese when asked, and its print stylesheet leaves out the
controls and starts each measure on a new A4 page."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hr_pages_testkit import DESKTOP, KEY, PHONE, HrSite, analytics_job, hr_page, hr_site
from web_testkit import ARTIFACTS, launch_chromium, shot

__all__ = ["hr_site"]  # the fixture, imported for this module's tests

# The README's pictures are taken here, beside the full-page ones, and copied to docs/screenshots/ by hand: a test
# run leaves the checkout as it was.
SCREENSHOTS = ARTIFACTS
AXES = ("sex", "race_ethnicity", "sex_x_race_ethnicity")

# Every table on the page as {"measure/axis": {category: {col: text}}}, with the caption and the reference's row.
READ_TABLES = """() => Object.fromEntries([...document.querySelectorAll('table[data-measure]')].map((t) => [
  `${t.dataset.measure}/${t.dataset.axis}`,
  Object.fromEntries([...t.querySelectorAll('tbody tr')].map((r) => [r.dataset.category,
    Object.fromEntries([...r.querySelectorAll('td[data-col]')].map((c) => [c.dataset.col, c.textContent]))]))]))"""


@pytest.fixture(scope="module")
async def browser(playwright: Any, chromium_path: Path) -> AsyncIterator[Any]:
    browser = await launch_chromium(playwright, chromium_path)
    yield browser
    await browser.close()


@pytest.fixture(scope="module")
async def job(hr_site: HrSite) -> str:
    return await analytics_job(hr_site, "Audited role")


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


async def test_every_table_of_the_audit_is_on_the_page_with_its_figures(
    hr_site: HrSite, browser: Any, job: str
) -> None:
    data = await hr_site.json("/v1/audits/bias", job_id=job)
    page = await hr_page(browser, f"{hr_site.base}/hr/audit?job_id={job}", DESKTOP)
    try:
        assert KEY not in page.url
        shown = await page.evaluate(READ_TABLES)
        tables = data["audit"]["tables"]
        # advance, advance or hold, overall and three dimensions, each by the three axes
        assert len(tables) == 6 * len(AXES) and set(shown) == {f"{x['measure']}/{x['axis']}" for x in tables}
        flags = 0
        for table in tables:
            rows = shown[f"{table['measure']}/{table['axis']}"]
            assert rows["(unknown)"]["n"] == str(table["unknown"])
            assert set(rows) == {g["category"] for g in table["groups"]} | {"(unknown)"}
            for g in table["groups"]:
                row = rows[g["category"]]
                assert (row["n"], row["hits"], row["rate"]) == (str(g["n"]), str(g["hits"]), _pct(g["rate"]))
                ratio = "–" if g["impact_ratio"] is None else f"{g['impact_ratio']:.3f}"
                assert row["impact_ratio"] == ratio
                assert row["flag"] == ("flag" if g["four_fifths_flag"] else "–")
                assert row["ci"] == f"{_pct(g['ci_low'])} – {_pct(g['ci_high'])}"
                flags += g["four_fifths_flag"]
        assert flags > 0  # the data has flagged categories, so the flags are tested both ways
        assert await page.locator("tr.flag").count() == flags
        assert await page.locator("[data-fact='interviews']").text_content() == "40 interviews with a report"
        head = await page.locator("#audit-head").text_content()
        assert "Audited role · all dates" in head and "null" not in head
        # Every category the audit marks as under 2 % of the sample carries the note.
        small = sum(g["under_2pct"] for x in tables for g in x["groups"])
        assert await page.locator("td[data-col='notes']:has-text('under 2 %')").count() == small
        await shot(page, "hr-audit-desktop")
        await page.screenshot(path=str(SCREENSHOTS / "readme-hr-audit.png"))  # the first screen, for the README
    finally:
        await page.context.close()


async def test_the_audit_prints_on_a4_without_the_controls(hr_site: HrSite, browser: Any, job: str) -> None:
    page = await hr_page(browser, f"{hr_site.base}/hr/audit?job_id={job}", DESKTOP)
    try:
        await page.emulate_media(media="print")
        assert not await page.locator("#audit-form").is_visible()
        assert not await page.locator("header.top").is_visible()
        assert await page.locator("table[data-measure='advance'][data-axis='sex']").is_visible()
        breaks = await page.evaluate(
            "() => [...document.querySelectorAll('.audit-measure')].map((s) => getComputedStyle(s).breakBefore)"
        )
        assert breaks[0] == "auto" and set(breaks[1:]) == {"page"}
        pdf = await page.pdf(format="A4", prefer_css_page_size=True)
        assert pdf.startswith(b"%PDF")
    finally:
        await page.context.close()


async def test_the_audit_fits_a_phone_and_reads_in_chinese(hr_site: HrSite, browser: Any, job: str) -> None:
    page = await hr_page(browser, f"{hr_site.base}/hr/audit?job_id={job}", PHONE, lang="zh")
    try:
        assert await page.locator("h1").text_content() == "偏差审计"
        assert await page.locator("table[data-measure='advance'][data-axis='sex'] caption").text_content() == "按性别"
        # The page itself does not scroll sideways; wide tables scroll inside their own box.
        width = await page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360
        await shot(page, "hr-audit-phone-zh")
        await page.screenshot(path=str(SCREENSHOTS / "readme-hr-audit-phone-zh.png"))
    finally:
        await page.context.close()


async def test_the_form_narrows_the_period_and_the_url_says_which(hr_site: HrSite, browser: Any, job: str) -> None:
    page = await hr_page(browser, f"{hr_site.base}/hr/audit?job_id={job}", DESKTOP)
    try:
        yesterday = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
        await page.locator("#to").fill(yesterday)
        await page.locator("#audit-form button[type=submit]").click()
        await page.wait_for_selector("#audit-empty")
        assert await page.locator("#audit-tables").text_content() == "No interviews with a report in this period."
        assert await page.locator("[data-fact='interviews']").text_content() == "0 interviews with a report"
        assert page.url.endswith(f"?job_id={job}&to={yesterday}")
    finally:
        await page.context.close()
