"""The candidate's page during a typed interview: one live region reads each question and final caption once,
and ending asks for confirmation that stays until the candidate answers it; HR's report reads in their language.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from server_testkit import REPORT_WAIT_S, Api
from web_testkit import launch_chromium


@pytest.fixture(scope="module")
async def browser(playwright: Any, chromium_path: Path) -> AsyncIterator[Any]:
    browser = await launch_chromium(playwright, chromium_path)
    yield browser
    await browser.close()


def backend_job(fixtures_dir: Path) -> dict[str, Any]:
    manifest = json.loads((fixtures_dir / "backend_en" / "manifest.json").read_text())
    return dict(manifest["scenario"]["job"], questions=[{"text": q} for q in manifest["scenario"]["questions"]])


async def test_one_live_region_and_an_end_confirmation_that_waits(
    live_server: Any, browser: Any, fixtures_dir: Path
) -> None:
    api = Api(live_server.base, live_server.api_key)
    iv = await api.interview(backend_job(fixtures_dir), mode="text", name="Ada Lovelace")
    page = await (await browser.new_context(locale="en-US")).new_page()
    await page.goto(iv["join_url"])
    await page.locator("#consent").check()
    await page.locator("input[name=mode][value=text]").check()
    await page.locator("#start").click()
    question = page.locator("#question")
    await question.wait_for()
    await page.locator("#progress", has_text="Question 1 of").wait_for()

    # Inside the interview only the announcer is live, and it carries the question just asked.
    live = await page.locator("#interview [aria-live]").evaluate_all("(els) => els.map((e) => e.id)")
    assert live == ["announce"]
    assert await page.locator("#announce").inner_text() == await question.inner_text()

    # End asks once and keeps asking: no silent change back after a few seconds.
    end = page.locator("#end")
    await end.click()
    assert await end.inner_text() == "Yes, end now"
    assert "End the interview now?" in await page.locator("#announce").inner_text()
    await asyncio.sleep(6)
    assert await end.inner_text() == "Yes, end now"
    await page.locator("#end-cancel").click()
    assert await end.inner_text() == "End interview"
    assert await page.locator("#end-cancel").is_hidden()

    await end.click()
    await end.click()
    await page.locator("#overall").wait_for(timeout=REPORT_WAIT_S * 1000)  # the report follows scoring
    body = await api.poll(f"/v1/interviews/{iv['id']}", lambda b: b["status"] == "completed" and b["report"])

    # HR's report, in Chinese: the recommendation and who scored are labels, the start time a real date.
    hr = await (await browser.new_context(locale="zh-CN")).new_page()
    await hr.goto(f"{live_server.base}/hr/")
    await hr.evaluate("(lang) => sessionStorage.setItem('shanmian.lang', lang)", "zh")
    await hr.locator("#api-key").fill(live_server.api_key)
    await hr.locator("#key-form button[type=submit]").click()
    await hr.wait_for_selector("body[data-loaded='1']")
    await hr.goto(f"{live_server.base}/hr/report/{iv['id']}")
    await hr.wait_for_selector("body[data-loaded='1']")
    meta = await hr.locator("#rep-meta").inner_text()
    assert body["started_at"] and "Invalid Date" not in meta and re.search(r"\d{4}", meta), meta
    recommendation = hr.locator("[data-recommendation]")
    assert await recommendation.get_attribute("data-recommendation") == body["report"]["recommendation"]
    assert await recommendation.inner_text() in {"建议进入下一轮", "待定：由人来决定", "建议不进入下一轮"}
    assert await hr.get_by_text(re.compile("^评分模型：")).count() == 1
