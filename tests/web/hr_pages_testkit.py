"""A real server with one job of stored interviews for the HR analytics pages (the bias audit, the dashboard's
charts): reports with answer signals, turns, self-identification and hires' outcomes, all made as the server's own
writers make them, no models needed; and an HR page in Chromium that already holds the key (never in the URL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from server_testkit import model_free_server

from dialogue.report import AnswerScore, DimensionScore, DimensionStatus, Report, ScorerInfo, Signals, band, recommend
from dialogue.session import QuestionKind, Turn
from server.db.status import InterviewStatus
from server.db.store import Store

KEY = "hr-pages-key"
N = 40
PASS_THRESHOLD = 6.0
WEIGHTS = {"sql": 0.4, "design": 0.3, "communication": 0.3}
QUESTIONS = {
    "sql": "How would you speed up a slow SQL query on a large table?",
    "design": "Tell me about a time you designed a system under a tight deadline.",
    "communication": "How do you explain a technical trade-off to people outside engineering?",
}
RACES = ("White", "Asian", "Black or African American", "Hispanic or Latino")
LONG = (
    "I would read the query plan first, add a composite index on the customer and date columns, and rewrite the "
    "correlated subquery as a join so that the nightly report reads far fewer rows than it does today."
)
STAR = (
    "Last year our team had two weeks to launch a billing service. I designed the queue and the retry policy myself, "
    "and as a result we went live on time and cut failed payments by a third."
)
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@dataclass
class HrSite:
    base: str
    store: Store

    async def call(self, method: str, path: str, body: Any = None, **params: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base, timeout=60, headers={"Authorization": f"Bearer {KEY}"}) as c:
            return await c.request(method, path, json=body, params=params)

    async def json(self, path: str, **params: str) -> Any:
        r = await self.call("GET", path, **params)
        assert r.status_code == 200, r.text
        return r.json()


def scores_of(k: int) -> dict[str, float]:
    """Candidate k's dimension scores: spread over the scale, deterministic."""
    return {
        "sql": 3.0 + (k * 7 % 13) * 0.5,
        "design": 4.0 + (k * 5 % 11) * 0.45,
        "communication": 3.5 + (k * 3 % 9) * 0.6,
    }


def performance_of(k: int) -> float:
    """Performance that goes with the sql score, plus a deterministic wobble."""
    return round(1.0 + 0.4 * scores_of(k)["sql"] + ((k * 11 % 7) - 3) * 0.25, 2)


def self_identification(k: int) -> dict[str, str] | None:
    """Every seventh never answers; every tenth declines their sex; the rest answer."""
    if k % 7 == 6:
        return None
    sex = "Decline to answer" if k % 10 == 9 else ("Male" if k % 2 == 0 else "Female")
    return {"sex": sex, "race_ethnicity": RACES[k % 4]}


def stored_report(scores: dict[str, float], answered_well: bool) -> Report:
    overall = round(sum(s * WEIGHTS[n] for n, s in scores.items()), 1)
    relevance = 0.2 if answered_well else -0.5  # the scorer's relevance signal: own question fits, or another does
    return Report(
        overall=overall,
        recommendation=recommend(overall, PASS_THRESHOLD),
        needs_human_review=False,
        dimensions=tuple(
            DimensionScore(n, WEIGHTS[n], DimensionStatus.SCORED, s, band(s), (), "synthetic", (), ())
            for n, s in scores.items()
        ),
        answers=tuple(
            AnswerScore(f"q{i + 1}", QUESTIONS[n], n, 1, scores[n], Signals(6.0, 3.0, 8.0, relevance, 40), None)
            for i, n in enumerate(WEIGHTS)
        ),
        strengths=(),
        weaknesses=(),
        suggestions=(),
        scored_by="synthetic",
        scorer=ScorerInfo("none", None, "test"),
        pass_threshold=PASS_THRESHOLD,
        language="en",
        answered_questions=3,
        total_questions=3,
    )


async def analytics_job(site: HrSite, title: str = "Data engineer") -> str:
    """A job of N completed interviews with turns, reports, self-identification and outcomes; its id. Two in three
    candidates answer on topic (so each question's valid-answer rate is known), and every hire has an outcome."""
    j = await site.call(
        "POST",
        "/v1/jobs",
        {
            "title": title,
            "description": "Pipelines and APIs",
            "requirements": ["SQL", "System design", "Communication"],
            "pass_threshold": PASS_THRESHOLD,
            "dimensions": [{"name": n, "weight": w} for n, w in WEIGHTS.items()],
            "questions": [{"text": QUESTIONS[n], "dimension": n} for n in WEIGHTS],
        },
    )
    assert j.status_code == 201, j.text
    job = str(j.json()["id"])
    outcomes = ["interview_id,score,rated_at,rater_saw_interview_scores"]
    for k in range(N):
        c = await site.call("POST", "/v1/candidates", {"name": f"Candidate {k}"})
        cid = c.json()["id"]
        iv = await site.call("POST", "/v1/interviews", {"job_id": job, "candidate_id": cid, "mode": "text"})
        iid = iv.json()["id"]
        for seq, (n, text) in enumerate(QUESTIONS.items(), start=1):
            answer = STAR if n == "design" else LONG
            await site.store.add_turn(iid, Turn(seq, f"q{seq}", f"q{seq}", QuestionKind.MAIN, text, answer, None, None))
        await site.store.set_status(iid, InterviewStatus.COMPLETED, reason="completed")
        await site.store.save_report(iid, stored_report(scores_of(k), answered_well=k % 3 != 2))
        form = self_identification(k)
        if form is not None:
            r = await site.call("POST", f"/v1/candidates/{cid}/demographics", form)
            assert r.status_code == 200, r.text
        outcomes.append(f"{iid},{performance_of(k)},2026-09-30,no")
    async with httpx.AsyncClient(base_url=site.base, timeout=60) as client:
        r = await client.post(
            "/v1/outcomes.csv",
            content=("\n".join(outcomes) + "\n").encode(),
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "text/csv"},
        )
    assert r.status_code == 201, r.text
    return job


@pytest.fixture(scope="module")
async def hr_site(free_port: Callable[[], int]) -> AsyncIterator[HrSite]:
    """A real server on SQLite, no models."""
    async with model_free_server(free_port(), KEY, "shanmian-hr-pages-") as server:
        yield HrSite(server.base, server.store)


async def hr_page(browser: Any, url: str, device: dict[str, Any], lang: str = "en") -> Any:
    """An HR page that finds the key where the key form leaves it (sessionStorage), loaded and rendered."""
    context = await browser.new_context(**device)
    await context.add_init_script(
        f"sessionStorage.setItem('shanmian.apiKey', {KEY!r}); sessionStorage.setItem('shanmian.lang', {lang!r});"
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(url)
    try:
        await page.wait_for_selector("body[data-loaded='1']", timeout=30_000)
    except Exception:
        raise AssertionError(f"the page did not render; errors: {errors}") from None
    return page
