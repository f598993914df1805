"""The candidate's page on a 375×667 phone: a Chinese text interview done with the keyboard alone, the language
switch, a dropped connection that the page heals by itself, and the report; the HR dashboard at phone width.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from server_testkit import REPORT_WAIT_S, Api
from web_testkit import launch_chromium, shot

PHONE = {"viewport": {"width": 375, "height": 667}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
async def browser(playwright: Any, chromium_path: Path) -> AsyncIterator[Any]:
    browser = await launch_chromium(playwright, chromium_path)
    yield browser
    await browser.close()


def zh_answers(fixtures_dir: Path) -> tuple[dict[str, Any], dict[str, str]]:
    manifest = json.loads((fixtures_dir / "backend_zh" / "manifest.json").read_text())
    job = dict(manifest["scenario"]["job"], questions=[{"text": q} for q in manifest["scenario"]["questions"]])
    return job, {c["id"]: c["text"] for c in manifest["clips"]}


async def tab_to(page: Any, selector: str, limit: int = 40) -> None:
    """Press Tab until `selector` has the focus: the page must be reachable by keyboard alone."""
    for _ in range(limit):
        if await page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


async def answer(page: Any, text: str) -> None:
    await tab_to(page, "#answer")
    await page.keyboard.insert_text(text)
    await page.keyboard.press("Control+Enter")


async def test_phone_chinese_text_interview_by_keyboard_with_a_dropped_connection(
    live_server: Any, browser: Any, fixtures_dir: Path
) -> None:
    job, texts = zh_answers(fixtures_dir)
    api = Api(live_server.base, live_server.api_key)
    iv = await api.interview(job, mode="text", name="李雷")
    ctx = await browser.new_context(**PHONE, locale="zh-CN")
    page = await ctx.new_page()
    await page.goto(iv["join_url"])

    # Chinese, by the interview's language; the switch flips the page to English and back.
    await page.get_by_role("heading", name=re.compile("Java开发工程师")).wait_for()
    assert await page.evaluate("document.documentElement.lang") == "zh-CN"
    await shot(page, "candidate-phone-1-intro-zh")
    await page.get_by_role("button", name="Switch to English").click()
    await page.get_by_role("heading", name=re.compile("Your interview for")).wait_for()
    await page.get_by_role("button", name="切换到中文").click()
    await page.get_by_role("heading", name=re.compile("职位面试")).wait_for()
    assert await page.get_by_role("radio", name=re.compile("打字")).is_checked()  # the interview's mode
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width} px)"

    # Keyboard only: consent, start, answers.
    await tab_to(page, "#consent")
    await page.keyboard.press("Space")
    await tab_to(page, "#start")
    await page.keyboard.press("Enter")
    await page.locator("#progress", has_text="第 1 题，共 2 题").wait_for()
    await shot(page, "candidate-phone-2-question-zh")
    await answer(page, texts["zh_q1_strong"])
    await page.locator("#progress", has_text="第 2 题，共 2 题").wait_for()

    # The network drops: the page says so, reconnects with the same token and gets the same question again.
    question = await page.locator("#question").inner_text()
    await page.evaluate("window.__shanmian.drop()")
    await page.locator("#banner", has_text="连接已断开").wait_for()
    await shot(page, "candidate-phone-3-reconnecting-zh")
    await page.locator("#banner", has_text="已重新连接").wait_for(timeout=15_000)
    assert await page.locator("#question").inner_text() == question

    # Answer the rest (a follow-up when the rules ask one), then the report at once.
    await answer(page, texts["zh_q2_weak"])
    await page.locator("#kind", has_text=re.compile("追问|结束语")).wait_for()
    if await page.locator("#kind").inner_text() == "追问":
        await answer(page, texts["zh_followup_1"])
        await page.locator("#kind", has_text="结束语").wait_for()
    await answer(page, texts["zh_closing_1"])
    await page.locator("#overall").wait_for(timeout=REPORT_WAIT_S * 1000)  # the report follows scoring
    assert await page.get_by_role("heading", name="您的结果").is_visible()
    await shot(page, "candidate-phone-4-report-zh")

    body = (await api.get(f"/v1/interviews/{iv['id']}")).json()
    assert body["status"] == "completed"
    assert [t["answer"] for t in body["transcript"]][:2] == [texts["zh_q1_strong"], texts["zh_q2_weak"]]

    # Reloading the link after the end shows the report again (read with the candidate's token).
    await page.reload()
    await page.locator("#overall").wait_for()

    # HR at phone width.
    hr = await (await browser.new_context(**PHONE, locale="en-US")).new_page()
    await hr.goto(f"{live_server.base}/hr/")
    await hr.get_by_label("HR API key").fill("wrong key")
    await hr.get_by_role("button", name="Continue").click()
    await hr.get_by_text("That key was not accepted.").wait_for()
    await hr.get_by_label("HR API key").fill(live_server.api_key)
    await hr.get_by_role("button", name="Continue").click()
    await hr.wait_for_selector("body[data-loaded='1']")
    job_card = hr.locator(f"article.job[data-job='{iv['job_id']}']")
    assert await job_card.locator("[data-count='completed']").inner_text() == "1"
    await shot(hr, "hr-phone-1-dashboard")
    await hr.goto(f"{live_server.base}/hr/report/{iv['id']}")
    await hr.wait_for_selector("body[data-loaded='1']")
    await shot(hr, "hr-phone-2-report")
    await ctx.close()
    await hr.context.close()
