"""The HR dashboard's charts of a job in a real Chromium, on a real server with 40 stored interviews, their turns,
reports, self-identification and hires' outcomes: the score distribution, the validity scatter with its fitted line
and interval, the valid-answer rates with their intervals and the impact ratios are drawn with the numbers of the
REST answers they come from; at 360 px nothing spills sideways; in Chinese the titles are Chinese."""

from __future__ import annotations

import statistics
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hr_pages_testkit import DESKTOP, PHONE, HrSite, N, analytics_job, hr_page, hr_site
from web_testkit import ARTIFACTS, launch_chromium, shot

__all__ = ["hr_site"]  # the fixture, imported for this module's tests

# The README's pictures are taken here, beside the full-page ones, and copied to docs/screenshots/ by hand: a test
# run leaves the checkout as it was.
SCREENSHOTS = ARTIFACTS

# Every chart in the job's panel: its datasets as Chart.js holds them (type, label, data) and its labels.
READ_CHARTS = """(job) => Object.fromEntries([...document.querySelectorAll(`[data-charts='${job}'] figure[data-chart]`)]
  .map((f) => {
    const chart = Chart.getChart(f.querySelector('canvas'));
    return [f.dataset.chart, { labels: chart.data.labels ?? [], width: f.querySelector('canvas').width,
      datasets: chart.data.datasets.map((d) => ({ type: d.type ?? chart.config.type, label: d.label, data: d.data }))}];
  }))"""


@pytest.fixture(scope="module")
async def browser(playwright: Any, chromium_path: Path) -> AsyncIterator[Any]:
    browser = await launch_chromium(playwright, chromium_path)
    yield browser
    await browser.close()


@pytest.fixture(scope="module")
async def job(hr_site: HrSite) -> str:
    return await analytics_job(hr_site, "Charted role")


async def _charts(browser: Any, site: HrSite, job: str, device: dict[str, Any], lang: str = "en") -> Any:
    page = await hr_page(browser, f"{site.base}/hr/", device, lang)
    await page.locator(f"article[data-job='{job}'] details.job-charts summary").click()
    await page.wait_for_selector(f"[data-charts='{job}'][data-loaded='1']", timeout=30_000)
    return page


async def test_the_charts_draw_the_servers_figures(hr_site: HrSite, browser: Any, job: str) -> None:
    scores = await hr_site.json(f"/v1/jobs/{job}/scores")
    validity = await hr_site.json(f"/v1/jobs/{job}/validity")
    analytics = await hr_site.json(f"/v1/jobs/{job}/questions/analytics")
    audit = await hr_site.json("/v1/audits/bias", job_id=job)
    page = await _charts(browser, hr_site, job, DESKTOP)
    try:
        charts = await page.evaluate(READ_CHARTS, job)
        assert set(charts) == {"scores", "validity", "questions", "impact"}

        [bars] = charts["scores"]["datasets"]
        overall = [i["overall"] for i in scores["interviews"]]
        assert len(bars["data"]) == 10 and sum(bars["data"]) == N
        assert bars["data"] == [sum(min(9, int(x)) == b for x in overall) for b in range(10)]

        # The scatter shows the dimension with a study (sql first), its hires, the fitted line and its interval.
        sql = next(d for d in validity["dimensions"] if d["dimension"] == "sql")["study"]
        hires, fit, low, high = charts["validity"]["datasets"]
        assert (hires["type"], fit["type"], low["type"], high["type"]) == ("scatter", "line", "line", "line")
        points = [(i["dimension_scores"]["sql"], i["performance"]) for i in scores["interviews"]]
        assert sorted((p["x"], p["y"]) for p in hires["data"]) == sorted(points)
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        for line, r in ((fit, sql["r"]), (low, sql["ci_low"]), (high, sql["ci_high"])):
            (x0, y0), (x1, y1) = ((p["x"], p["y"]) for p in line["data"])
            assert (x0, x1) == (min(xs), max(xs))
            assert (y1 - y0) / (x1 - x0) == pytest.approx(r * statistics.stdev(ys) / statistics.stdev(xs))
        note = await page.locator("[data-validity-note='sql']").text_content()
        assert note == f"r = {sql['r']:.2f} (95 % CI {sql['ci_low']:.2f} to {sql['ci_high']:.2f}), n = {sql['n']}"

        rate, interval = charts["questions"]["datasets"]
        versions = analytics["questions"]
        assert charts["questions"]["labels"] == [f"{q['question_id']} v{q['version']}" for q in versions]
        assert len(versions) == 3
        valid = [q["stats"]["valid_first"] for q in versions]
        assert rate["data"] == [round(1000 * v["rate"]) / 10 for v in valid]
        assert interval["data"] == [[round(1000 * v["ci_low"]) / 10, round(1000 * v["ci_high"]) / 10] for v in valid]
        assert [v["hits"] for v in valid] == [2 * N // 3 + 1, 2 * N // 3 + 1, 2 * N // 3 + 1]  # k % 3 != 2: 27 of 40

        shown = [
            g
            for x in audit["audit"]["tables"]
            if x["measure"] == "advance" and x["axis"] in ("sex", "race_ethnicity")
            for g in x["groups"]
        ]
        ratios, threshold = charts["impact"]["datasets"]
        assert charts["impact"]["labels"] == [g["category"] for g in shown]
        assert ratios["data"] == [g["impact_ratio"] for g in shown] and set(threshold["data"]) == {0.8}
        rows = page.locator("table[data-impact-table='advance'] tbody tr")
        assert await rows.count() == len(shown)
        for k, g in enumerate(shown):
            cells = rows.nth(k).locator("td")
            assert await cells.nth(2).text_content() == f"{g['impact_ratio']:.3f}"
            assert await cells.nth(3).text_content() == ("flag" if g["four_fifths_flag"] else "–")
        await shot(page, "hr-dashboard-charts")
        await page.locator(f"[data-charts='{job}']").screenshot(
            path=str(SCREENSHOTS / "readme-hr-dashboard-charts.png")
        )
    finally:
        await page.context.close()


async def test_the_charts_fit_a_phone_in_chinese(hr_site: HrSite, browser: Any, job: str) -> None:
    page = await _charts(browser, hr_site, job, PHONE, lang="zh")
    try:
        charts = await page.evaluate(READ_CHARTS, job)
        assert set(charts) == {"scores", "validity", "questions", "impact"}
        assert all(0 < c["width"] <= 360 * 2 for c in charts.values())  # device pixels, at scale 2
        assert await page.evaluate("() => document.documentElement.scrollWidth") <= 360
        caption = page.locator(f"[data-charts='{job}'] figure[data-chart='questions'] figcaption")
        assert await caption.text_content() == "各问题版本的有效回答率（首次回答，95% 置信区间）"
        await shot(page, "hr-dashboard-charts-phone-zh")
        await page.locator(f"[data-charts='{job}']").screenshot(path=str(SCREENSHOTS / "readme-hr-charts-phone-zh.png"))
    finally:
        await page.context.close()


async def test_the_charts_survive_the_dashboards_refresh(hr_site: HrSite, browser: Any, job: str) -> None:
    page = await _charts(browser, hr_site, job, DESKTOP)
    try:
        await page.locator("#refresh").click()
        await page.wait_for_timeout(500)
        assert await page.locator(f"article[data-job='{job}'] details.job-charts").get_attribute("open") == ""
        assert await page.locator(f"[data-charts='{job}'] figure[data-chart]").count() == 4
    finally:
        await page.context.close()
