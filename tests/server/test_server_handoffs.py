"""Hand-offs on a real server, on SQLite and a real PostgreSQL: a reviewer's positive scorecard makes an offer
suggestion in its own transaction; only a named approval sends it (a signed `offer.suggested`, verified with
standardwebhooks), once; a course catalogue uploaded as CSV and JSON, a job's competency map, and a hire's courses
for weak dimensions with their reasons (`training.recommended`); the dashboard lists both; every refusal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hr_testkit import job_body, report
from sqlalchemy import func, select
from workflow_testkit import DATABASES, WorkflowServer, workflow_server

from server.db.status import InterviewStatus
from server.db.tables import WebhookEventRow
from server.settings import Settings, SettingsError

SCORES = {"sql": 8.0, "design": 6.0, "communication": 7.0}  # overall 7.1: mid, no band below solid
CATALOGUE_CSV = (
    "course_id,title,competencies,url,language\n"
    "sql-101,SQL joins in practice,sql.joins;sql.indexes,https://learn.example.com/sql,en\n"
    "talk-1,Explaining clearly,comm.explain,https://learn.example.com/talk,en\n"
)


class Env(WorkflowServer):
    async def job(self, reviewers: int) -> str:
        created = await self.call("POST", "/v1/jobs", job_body())
        assert created.status_code == 201, created.text
        job_id = str(created.json()["id"])
        people = [{"name": f"Reviewer {k}", "email": f"r{uuid.uuid4().hex[:8]}@example.com"} for k in range(reviewers)]
        put = await self.call("PUT", f"/v1/jobs/{job_id}/reviewers", {"reviewers": people, "blind": False})
        assert put.status_code == 200, put.text
        return job_id

    async def finished(self, job_id: str, scores: Mapping[str, float] = SCORES, evidence: str | None = None) -> str:
        """A completed interview with its report saved as the scorer saves one (which asks the job's reviewers)."""
        c = await self.call("POST", "/v1/candidates", {"name": "Lee Min"})
        iv = await self.call(
            "POST", "/v1/interviews", {"job_id": job_id, "candidate_id": c.json()["id"], "mode": "text"}
        )
        assert iv.status_code == 201, iv.text
        iid = str(iv.json()["id"])
        made = report(scores)
        if evidence is not None:
            made = dataclasses.replace(
                made,
                dimensions=tuple(dataclasses.replace(d, evidence=(f"{evidence} ({d.name})",)) for d in made.dimensions),
            )
        await self.store.set_status(iid, InterviewStatus.COMPLETED, reason="completed")
        await self.store.save_report(iid, made)
        return iid

    async def pending_reviews(self, interview_id: str) -> list[str]:
        listed = await self.call("GET", "/v1/reviews?status=pending&limit=1000")
        return [t["id"] for t in listed.json() if t["interview_id"] == interview_id]

    async def submit(self, review_id: str, recommendation: str) -> dict[str, Any]:
        sent = await self.call("POST", f"/v1/reviews/{review_id}/scorecard", {"recommendation": recommendation})
        assert sent.status_code == 201, sent.text
        return dict(sent.json())

    async def review(self, interview_id: str, recommendation: str) -> dict[str, Any]:
        """The next pending reviewer of the interview submits `recommendation`."""
        return await self.submit((await self.pending_reviews(interview_id))[0], recommendation)

    async def offers(self, interview_id: str) -> list[dict[str, Any]]:
        listed = await self.call("GET", f"/v1/offers?interview_id={interview_id}")
        assert listed.status_code == 200, listed.text
        return list(listed.json())


@pytest.fixture(scope="module", params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue("postgres_database")) if request.param == "postgres" else None


@pytest.fixture(scope="module")
async def env(database_url: str | None, free_port: Callable[[], int]) -> AsyncIterator[Env]:
    events = ["offer.suggested", "training.recommended", "report.ready"]
    async with workflow_server(Env, database_url, free_port(), events) as made:
        yield made


def _day(text: str) -> date:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).date()


async def test_a_positive_review_suggests_an_offer_that_only_a_named_approval_sends_once(env: Env) -> None:
    job_id = await env.job(reviewers=2)
    iid = await env.finished(job_id)
    await env.wait_events("report.ready", iid, 1)
    assert await env.offers(iid) == []

    card = await env.review(iid, "yes")
    (offer,) = await env.offers(iid)
    assert (offer["role"], offer["level"], offer["status"], offer["job_id"]) == (
        "Data engineer",
        "mid",
        "pending",
        job_id,
    )
    assert (
        offer["level_reason"]
        == "overall 7.1/10 suggests mid; no dimension is limited and fewer than two are developing"
    )
    reviewed = _day(card["created_at"])
    assert date.fromisoformat(offer["start_earliest"]) == reviewed + timedelta(days=14)
    assert date.fromisoformat(offer["start_latest"]) == reviewed + timedelta(days=45)
    assert offer["scorecard_ids"] == [card["id"]]

    await env.review(iid, "no")  # a later scorecard makes no second suggestion
    assert [o["id"] for o in await env.offers(iid)] == [offer["id"]]
    assert env.events("offer.suggested", iid) == []  # nothing leaves before a person approves

    approved = await env.call("POST", f"/v1/offers/{offer['id']}/approve", {"decided_by": "Dana Reyes", "note": "ok"})
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", "Dana Reyes")
    (event,) = await env.wait_events("offer.suggested", iid, 1)
    assert event["data"] == {
        "suggestion_id": offer["id"],
        "interview_id": iid,
        "job_id": job_id,
        "candidate_id": offer["candidate_id"],
        "role": "Data engineer",
        "level": "mid",
        "start_earliest": offer["start_earliest"],
        "start_latest": offer["start_latest"],
        "approved_at": event["data"]["approved_at"],
    }
    assert _day(event["data"]["approved_at"]) == _day(approved.json()["decided_at"])

    again = await env.call("POST", f"/v1/offers/{offer['id']}/approve", {"decided_by": "Dana Reyes"})
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "offer_decided"
    assert "already approved by Dana Reyes" in again.json()["error"]["message"]
    assert len(env.events("offer.suggested", iid)) == 1
    board = (await env.call("GET", "/v1/dashboard")).json()
    assert offer["id"] not in [o["id"] for o in board["offer_suggestions"]]  # decided: no longer waiting


async def test_a_review_without_a_yes_or_with_a_no_suggests_nothing(env: Env) -> None:
    job_id = await env.job(reviewers=2)
    iid = await env.finished(job_id)
    await env.review(iid, "no_decision")
    assert await env.offers(iid) == []
    await env.review(iid, "definitely_not")
    assert await env.offers(iid) == []


async def test_deciding_without_a_name_is_refused_and_a_rejection_sends_nothing(env: Env) -> None:
    job_id = await env.job(reviewers=1)
    iid = await env.finished(job_id)
    await env.review(iid, "strong_yes")
    (offer,) = await env.offers(iid)

    nameless = await env.call("POST", f"/v1/offers/{offer['id']}/reject", {"decided_by": "   "})
    assert nameless.status_code == 400, nameless.text
    assert "decided_by: name the person" in nameless.json()["error"]["message"]
    missing = await env.call("POST", f"/v1/offers/{offer['id']}/reject", {})
    assert missing.status_code == 400, missing.text

    rejected = await env.call("POST", f"/v1/offers/{offer['id']}/reject", {"decided_by": "Dana Reyes"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    got = await env.call("GET", f"/v1/offers/{offer['id']}")
    assert got.json()["status"] == "rejected"
    approve = await env.call("POST", f"/v1/offers/{offer['id']}/approve", {"decided_by": "Lee"})
    assert approve.status_code == 409
    # The outbox itself, not the receiver: an event would have been written in the decision's transaction.
    async with env.store.engine.connect() as conn:
        written = await conn.scalar(
            select(func.count()).where(
                WebhookEventRow.type == "offer.suggested", WebhookEventRow.dedup_key == f"offer.suggested:{offer['id']}"
            )
        )
    assert written == 0


async def test_positive_scorecards_submitted_at_once_make_one_suggestion_shown_on_the_dashboard(env: Env) -> None:
    job_id = await env.job(reviewers=4)
    iid = await env.finished(job_id)
    reviews = await env.pending_reviews(iid)
    cards = await asyncio.gather(*(env.submit(r, "yes") for r in reviews))
    (offer,) = await env.offers(iid)
    assert set(offer["scorecard_ids"]) <= {c["id"] for c in cards} and offer["scorecard_ids"]
    board = (await env.call("GET", "/v1/dashboard")).json()
    assert offer["id"] in [o["id"] for o in board["offer_suggestions"]]  # pending ones only


async def test_erasing_the_candidate_erases_their_suggestion_and_courses(env: Env) -> None:
    await env.call("PUT", "/v1/courses", content=CATALOGUE_CSV.encode(), content_type="text/csv")
    job_id = await env.job(reviewers=1)
    iid = await env.finished(job_id, {"sql": 3.0, "design": 8.0, "communication": 8.0})
    await env.review(iid, "yes")
    (offer,) = await env.offers(iid)
    hired = {"interview_id": iid, "score": 3.0, "rated_at": "2027-01-05", "rater_saw_interview_scores": False}
    assert (await env.call("POST", "/v1/outcomes", hired)).status_code == 201
    rec = await env.call("POST", f"/v1/interviews/{iid}/training")
    assert rec.status_code == 201, rec.text

    erased = await env.call("POST", f"/v1/candidates/{offer['candidate_id']}/erase")
    assert erased.status_code == 200, erased.text
    assert (await env.call("GET", f"/v1/offers/{offer['id']}")).status_code == 404
    assert (await env.call("GET", f"/v1/training/{rec.json()['id']}")).status_code == 404


async def test_an_unknown_offer_is_404(env: Env) -> None:
    for method, path, body in (
        ("GET", "/v1/offers/of_nope", None),
        ("POST", "/v1/offers/of_nope/approve", {"decided_by": "Dana Reyes"}),
    ):
        r = await env.call(method, path, body)
        assert r.status_code == 404, r.text
        assert "no offer suggestion with id 'of_nope'" in r.json()["error"]["message"]


async def test_catalogue_refusals_name_the_line_or_item_and_keep_the_old_catalogue(env: Env) -> None:
    ok = await env.call("PUT", "/v1/courses", content=CATALOGUE_CSV.encode(), content_type="text/csv")
    assert ok.status_code == 200, ok.text
    bad = CATALOGUE_CSV + "x-1,Broken,,https://learn.example.com/x,en\n"
    r = await env.call("PUT", "/v1/courses", content=bad.encode(), content_type="text/csv")
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("line 4, competencies:")
    r = await env.call("PUT", "/v1/courses", content=b'[{"course_id": "a"}]', content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("item 1: lacks")
    r = await env.call("PUT", "/v1/courses", content=b"a,b", content_type="text/plain")
    assert r.status_code == 400 and "send text/csv or application/json" in r.json()["error"]["message"]
    listed = await env.call("GET", "/v1/courses")
    assert [c["course_id"] for c in listed.json()["courses"]] == ["sql-101", "talk-1"]


async def test_a_competency_map_refuses_unknown_competencies_dimensions_and_jobs(env: Env) -> None:
    await env.call("PUT", "/v1/courses", content=CATALOGUE_CSV.encode(), content_type="text/csv")
    job_id = await env.job(reviewers=0)
    r = await env.call("PUT", f"/v1/jobs/{job_id}/competencies", {"dimensions": {"sql": ["sql.window"]}})
    assert r.status_code == 400 and "unknown competency 'sql.window'" in r.json()["error"]["message"]
    r = await env.call("PUT", f"/v1/jobs/{job_id}/competencies", {"dimensions": {"cooking": ["sql.joins"]}})
    assert r.status_code == 400 and "no dimension 'cooking'" in r.json()["error"]["message"]
    r = await env.call("PUT", "/v1/jobs/job_nope/competencies", {"dimensions": {}})
    assert r.status_code == 404
    default = await env.call("GET", f"/v1/jobs/{job_id}/competencies")
    assert default.json() == {"job_id": job_id, "dimensions": {}, "weak_below": 5.0}


async def test_a_hire_gets_courses_for_weak_dimensions_with_reasons_also_on_the_dashboard(env: Env) -> None:
    json_catalogue = [
        {
            "course_id": "sql-101",
            "title": "SQL joins",
            "competencies": ["sql.joins"],
            "url": "https://l.example/s",
            "language": "en",
        },
        {
            "course_id": "talk-1",
            "title": "Explaining",
            "competencies": ["comm.explain"],
            "url": "https://l.example/t",
            "language": "en",
        },
        {
            "course_id": "talk-zh",
            "title": "讲清楚",
            "competencies": ["comm.explain"],
            "url": "https://l.example/z",
            "language": "zh",
        },
    ]
    up = await env.call(
        "PUT", "/v1/courses", content=json.dumps(json_catalogue).encode(), content_type="application/json"
    )
    assert up.status_code == 200, up.text
    job_id = await env.job(reviewers=0)
    mapped = await env.call(
        "PUT",
        f"/v1/jobs/{job_id}/competencies",
        {"dimensions": {"sql": ["sql.joins"], "communication": ["comm.explain"]}, "weak_below": 5.0},
    )
    assert mapped.status_code == 200, mapped.text
    iid = await env.finished(job_id, {"sql": 3.8, "design": 5.0, "communication": 4.5}, evidence="I just use SELECT *")

    not_hired = await env.call("POST", f"/v1/interviews/{iid}/training")
    assert not_hired.status_code == 409 and "not recorded as hired" in not_hired.json()["error"]["message"]
    unknown = await env.call("POST", "/v1/interviews/iv_nope/training")
    assert unknown.status_code == 404

    hired = await env.call(
        "POST",
        "/v1/outcomes",
        {"interview_id": iid, "score": 3.0, "rated_at": "2027-01-05", "rater_saw_interview_scores": False},
    )
    assert hired.status_code == 201, hired.text
    made = await env.call("POST", f"/v1/interviews/{iid}/training")
    assert made.status_code == 201, made.text
    rec = made.json()
    # Weakest first; design at 5.0 is not under the bar.
    assert [(d["dimension"], d["score"]) for d in rec["dimensions"]] == [("sql", 3.8), ("communication", 4.5)]
    sql, talk = rec["dimensions"]
    assert [(c["course_id"], c["reason"]) for c in sql["courses"]] == [
        ("sql-101", "sql 3.8/10: 'I just use SELECT * (sql)'")
    ]
    assert [c["course_id"] for c in talk["courses"]] == ["talk-1", "talk-zh"]  # the interview's language (en) first

    (event,) = await env.wait_events("training.recommended", iid, 1)
    assert event["data"]["recommendation_id"] == rec["id"]
    assert (event["data"]["weak_dimensions"], event["data"]["courses"]) == (2, 3)
    assert event["data"]["recommendation_url"] == f"{env.base}/v1/training/{rec['id']}"
    read = await env.call("GET", f"/v1/training/{rec['id']}")
    assert read.status_code == 200 and read.json() == rec
    assert [r["id"] for r in (await env.call("GET", f"/v1/interviews/{iid}/training")).json()] == [rec["id"]]
    assert (await env.call("GET", "/v1/training/tr_nope")).status_code == 404

    board = (await env.call("GET", "/v1/dashboard")).json()
    assert rec["id"] in [t["id"] for t in board["training_recommendations"]]


@pytest.mark.parametrize(("earliest", "latest"), [(30, 20), (-1, 10), (10, 400)])
def test_a_start_window_that_is_not_forward_stops_start_up(earliest: int, latest: int) -> None:
    with pytest.raises(SettingsError, match="SHANMIAN_OFFER_START_EARLIEST_DAYS"):
        Settings.from_env(
            {"SHANMIAN_OFFER_START_EARLIEST_DAYS": str(earliest), "SHANMIAN_OFFER_START_LATEST_DAYS": str(latest)},
            api_key="k",
        )
