"""Pages for people outside HR, in a real Chromium at phone width (360 px). The hiring manager's share page: a share
link opens the report and transcript with no key, the manager's scorecard goes in through the form and is stored; a
Chinese interview's page is in Chinese; a revoked link shows why it no longer opens. The candidate's report page:
the "request a human review" button makes the request HR sees, and the page then shows its status (en, zh).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_testkit import model_free_server
from web_testkit import launch_chromium, shot

from dialogue.report import DimensionScore, DimensionStatus, Report, ScorerInfo, band, recommend
from dialogue.session import QuestionKind, Turn
from server.db.status import InterviewStatus
from server.db.store import Store

KEY = "share-page-key"
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
ANSWER = "I rewrote a slow report query with a covering index."
JOB = {
    "title": "Data engineer",
    "dimensions": [{"name": "sql", "weight": 0.5}, {"name": "design", "weight": 0.5}],
    "questions": [
        {"text": "Tell me about your sql work.", "dimension": "sql"},
        {"text": "And design?", "dimension": "design"},
    ],
}


def report(sql: float, design: float, language: str = "en") -> Report:
    """A report as the scorer stores one: equal weights, so the overall is the mean."""
    overall = round((sql + design) / 2, 1)
    return Report(
        overall=overall,
        recommendation=recommend(overall, 6.0),
        needs_human_review=False,
        dimensions=tuple(
            DimensionScore(name, 0.5, DimensionStatus.SCORED, x, band(x), (), "synthetic", (), ())
            for name, x in (("sql", sql), ("design", design))
        ),
        answers=(),
        strengths=(),
        weaknesses=(),
        suggestions=(),
        scored_by="synthetic",
        scorer=ScorerInfo("none", None, "test"),
        pass_threshold=6.0,
        language=language,
        answered_questions=1,
        total_questions=2,
    )


@dataclass
class Site:
    base: str
    store: Store

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base, timeout=60, headers={"Authorization": f"Bearer {KEY}"}) as c:
            return await c.request(method, path, json=body)

    async def finished(self, scored: Report, **job: Any) -> dict[str, Any]:
        """A completed interview with one answer and its report stored; the interview as POST /v1/interviews gave it."""
        j = await self.call("POST", "/v1/jobs", JOB | job)
        c = await self.call("POST", "/v1/candidates", {"name": "Lee Min"})
        iv = await self.call(
            "POST", "/v1/interviews", {"job_id": j.json()["id"], "candidate_id": c.json()["id"], "mode": "text"}
        )
        iid = iv.json()["id"]
        await self.store.add_turn(
            iid, Turn(1, "q1", "q1", QuestionKind.MAIN, "Tell me about your sql work.", ANSWER, None, None)
        )
        await self.store.set_status(iid, InterviewStatus.COMPLETED, reason="completed")
        await self.store.save_report(iid, scored)
        return dict(iv.json())

    async def shared(self, scored: Report, **job: Any) -> dict[str, Any]:
        """A share link to a finished interview, as POST /v1/interviews/{id}/shares gave it."""
        iid = (await self.finished(scored, **job))["id"]
        made = await self.call("POST", f"/v1/interviews/{iid}/shares")
        assert made.status_code == 201, made.text
        return dict(made.json())


@pytest.fixture(scope="module")
async def site(free_port: Callable[[], int]) -> AsyncIterator[Site]:
    async with model_free_server(free_port(), KEY, "shanmian-share-page-") as server:
        yield Site(server.base, server.store)


@pytest.fixture(scope="module")
async def browser(playwright: Any, chromium_path: Path) -> AsyncIterator[Any]:
    browser = await launch_chromium(playwright, chromium_path)
    yield browser
    await browser.close()


async def _page(browser: Any, link: str, ready: str = "body[data-loaded='1']") -> Any:
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    await page.goto(link)
    await page.wait_for_selector(ready, timeout=30_000)
    return page


async def test_the_manager_reads_the_shared_report_at_phone_width_and_submits_a_scorecard(
    site: Site, browser: Any
) -> None:
    shared = await site.shared(report(8.0, 6.4))
    page = await _page(browser, shared["link"])
    try:
        assert (await page.text_content("#overall")).startswith("7.2")
        assert ANSWER in await page.text_content("#transcript")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scrolling"

        await page.fill("#sc-name", "Maria Rossi")
        await page.fill("#sc-email", "maria@hiring.example")
        await page.select_option("select[data-dimension='sql']", "4")
        await page.select_option("#sc-recommendation", "yes")
        await page.fill("#sc-comment", "Recommend hire.")
        await page.click("#sc-submit")
        await page.wait_for_selector("#scorecards li", timeout=15_000)
        assert "Thank you" in await page.text_content("#sc-status")
        await shot(page, "share-page-phone")
    finally:
        await page.context.close()

    stored = await site.call("GET", f"/v1/interviews/{shared['interview_id']}/shares")
    assert stored.status_code == 200
    cards = (await site.call("GET", f"/v1/shares/{shared['id']}?token=" + shared["link"].split("token=")[1])).json()
    (card,) = cards["scorecards"]
    assert (card["reviewer_name"], card["ratings"], card["recommendation"], card["comment"]) == (
        "Maria Rossi",
        {"sql": 4},
        "yes",
        "Recommend hire.",
    )


async def test_a_chinese_interview_s_page_is_in_chinese(site: Site, browser: Any) -> None:
    shared = await site.shared(report(5.0, 5.0, "zh"), language="zh")
    page = await _page(browser, shared["link"])
    try:
        assert await page.text_content("#card-title") == "您的评分表"
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
    finally:
        await page.context.close()


async def test_a_revoked_link_shows_why_it_no_longer_opens(site: Site, browser: Any) -> None:
    shared = await site.shared(report(5.0, 5.0))
    assert (await site.call("POST", f"/v1/shares/{shared['id']}/revoke")).status_code == 200
    page = await _page(browser, shared["link"])
    try:
        assert "revoked by the employer" in await page.text_content("#error")
        assert await page.is_hidden("#content")
    finally:
        await page.context.close()


@pytest.mark.parametrize(
    ("language", "button", "pending"),
    [
        ("en", "Request a human review or explanation", "A person will answer by"),
        ("zh", "申请人工复核或解释", "工作人员将在"),
    ],
)
async def test_the_candidate_requests_a_human_review_from_their_report_page(
    site: Site, browser: Any, language: str, button: str, pending: str
) -> None:
    iv = await site.finished(report(4.0, 5.0, language), language=language)
    page = await _page(browser, iv["join_url"], "#recourse-request")
    try:
        assert await page.text_content("#recourse-request") == button
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scrolling"
        await page.fill("#recourse-message", "Why was my SQL rated low?")
        await page.click("#recourse-request")
        await page.wait_for_selector("#recourse-status[data-status='pending']", timeout=15_000)
        assert pending in await page.text_content("#recourse-status")
        assert await page.is_hidden("#recourse-request") or not await page.query_selector("#recourse-request")
        await shot(page, f"candidate-recourse-{language}")
    finally:
        await page.context.close()

    listed = (await site.call("GET", "/v1/recourse")).json()
    (request,) = [r for r in listed if r["interview_id"] == iv["id"]]
    assert (request["status"], request["message"]) == ("pending", "Why was my SQL rated low?")

    answered = await site.call("POST", f"/v1/recourse/{request['id']}/answer", {"answer": "A recruiter re-read it."})
    assert answered.status_code == 200, answered.text
    page = await _page(browser, iv["join_url"], "#recourse-status[data-status='answered']")
    try:
        assert await page.text_content("#recourse-answer") == "A recruiter re-read it."
    finally:
        await page.context.close()
