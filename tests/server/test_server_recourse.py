"""The candidate's recourse on a real server, on SQLite and a real PostgreSQL: with their token the candidate asks for
a human review of their report, HR sees a task due in 14 days (GET /v1/recourse and GET /v1/reviews) and gets a
signed `review.requested` event saying it is the candidate's request, answers once, and the candidate reads the
status and the answer; each refusal (wrong token, no report yet, a second request, a second answer, bad bodies).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from hr_testkit import job_body, report
from standardwebhooks import Webhook
from workflow_testkit import DATABASES, WorkflowServer, workflow_server

from server.db.status import InterviewStatus


class Env(WorkflowServer):
    async def interview(self, *, with_report: bool = True) -> tuple[str, str]:
        """A completed interview (with its report saved, unless not asked) and the candidate's token."""
        job = await self.call("POST", "/v1/jobs", job_body())
        c = await self.call("POST", "/v1/candidates", {"name": "Lee Min"})
        iv = await self.call(
            "POST", "/v1/interviews", {"job_id": job.json()["id"], "candidate_id": c.json()["id"], "mode": "text"}
        )
        assert iv.status_code == 201, iv.text
        iid, token = str(iv.json()["id"]), str(iv.json()["candidate_token"])
        await self.store.set_status(iid, InterviewStatus.COMPLETED, reason="completed")
        if with_report:
            await self.store.save_report(iid, report({"sql": 4.0, "design": 5.0, "communication": 6.0}))
        return iid, token

    async def ask(self, iid: str, token: str | None, body: Any = None) -> httpx.Response:
        query = {"token": token} if token is not None else {}
        return await self.call("POST", f"/v1/interviews/{iid}/recourse", body, hr=False, query=query)

    async def status(self, iid: str, token: str) -> httpx.Response:
        return await self.call("GET", f"/v1/interviews/{iid}/recourse", hr=False, token=token)


@pytest.fixture(scope="module", params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue("postgres_database")) if request.param == "postgres" else None


@pytest.fixture(scope="module")
async def env(database_url: str | None, free_port: Callable[[], int]) -> AsyncIterator[Env]:
    async with workflow_server(Env, database_url, free_port(), ["review.requested"]) as made:
        yield made


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_a_candidate_s_request_becomes_a_task_due_in_14_days_an_event_and_a_status_they_follow(
    env: Env,
) -> None:
    iid, token = await env.interview()

    asked = await env.ask(iid, token, {"message": "  Why was my SQL rated low?  "})

    assert asked.status_code == 201, asked.text
    made = asked.json()
    assert (made["interview_id"], made["status"], made["message"]) == (iid, "pending", "Why was my SQL rated low?")
    assert _at(made["due_at"]) - _at(made["created_at"]) == timedelta(days=14)
    assert made["answer"] is None and made["answered_at"] is None

    listed = (await env.call("GET", "/v1/recourse", status="pending")).json()
    assert [r["id"] for r in listed if r["interview_id"] == iid] == [made["id"]]
    (task,) = [
        t for t in (await env.call("GET", "/v1/reviews", reason="candidate_request")).json() if t["id"] == made["id"]
    ]
    assert (task["status"], task["reviewer_email"], task["message"]) == ("pending", None, "Why was my SQL rated low?")

    verifier = Webhook(env.secret)

    def mine() -> list[dict[str, Any]]:
        events = [verifier.verify(r.body, r.headers) for r in env.receiver.of_type("review.requested")]
        return [e for e in events if e["data"]["interview_id"] == iid]

    await env.receiver.wait_for(lambda _: bool(mine()), seconds=30)
    (event,) = mine()
    assert event["data"]["requested_by"] == "candidate" and event["data"]["review_id"] == made["id"]
    assert _at(event["data"]["due_at"]) == _at(made["due_at"])

    seen = await env.status(iid, token)
    assert seen.status_code == 200 and seen.json() == made

    answered = await env.call(
        "POST",
        f"/v1/recourse/{made['id']}/answer",
        {"answer": "A recruiter re-read your answers; the SQL score stands."},
    )
    assert answered.status_code == 200, answered.text
    now_seen = (await env.status(iid, token)).json()
    assert now_seen["status"] == "answered" and now_seen["answer"].startswith("A recruiter re-read")
    assert _at(now_seen["answered_at"]) >= _at(made["created_at"])
    assert made["id"] in [r["id"] for r in (await env.call("GET", "/v1/recourse", status="answered")).json()]
    assert made["id"] not in [r["id"] for r in (await env.call("GET", "/v1/recourse", status="pending")).json()]

    again = await env.call("POST", f"/v1/recourse/{made['id']}/answer", {"answer": "Changed my mind."})
    assert again.status_code == 409 and again.json()["error"]["code"] == "recourse_answered"


async def test_the_message_is_optional(env: Env) -> None:
    iid, token = await env.interview()
    asked = await env.ask(iid, token)
    assert asked.status_code == 201, asked.text
    assert asked.json()["message"] is None


async def test_a_second_request_is_refused_and_concurrent_ones_make_one(env: Env) -> None:
    iid, token = await env.interview()
    answers = await asyncio.gather(*(env.ask(iid, token, {"message": f"try {n}"}) for n in range(5)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409, 409]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json()["error"]["code"] == "recourse_exists" and "is pending" in refused.json()["error"]["message"]
    assert len([r for r in (await env.call("GET", "/v1/recourse")).json() if r["interview_id"] == iid]) == 1


async def test_no_report_yet_is_a_409(env: Env) -> None:
    iid, token = await env.interview(with_report=False)
    refused = await env.ask(iid, token)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "report_not_ready"


async def test_a_wrong_or_missing_token_or_an_unknown_interview_is_a_401(env: Env) -> None:
    iid, token = await env.interview()
    for interview_id, given in ((iid, "wrong"), (iid, None), ("iv_nope", token)):
        refused = await env.ask(interview_id, given)
        assert refused.status_code == 401 and "candidate_token" in refused.json()["error"]["message"]
    assert (await env.call("GET", f"/v1/interviews/{iid}/recourse", hr=False, token="wrong")).status_code == 401


async def test_the_status_before_any_request_is_null(env: Env) -> None:
    iid, token = await env.interview()
    missing = await env.status(iid, token)
    assert missing.status_code == 200 and missing.json() is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"message": "x" * 2001}, "message"),
        ({"message": 42}, "Expected `str | null`, got `int`"),
        ({"note": "hi"}, "note"),
    ],
)
async def test_a_bad_request_body_is_a_400(env: Env, body: Any, message: str) -> None:
    iid, token = await env.interview()
    refused = await env.ask(iid, token, body)
    assert refused.status_code == 400 and message in refused.text


async def test_hr_s_answer_refusals(env: Env) -> None:
    assert (await env.call("POST", "/v1/recourse/rcr_nope/answer", {"answer": "x"})).status_code == 404
    iid, token = await env.interview()
    made = (await env.ask(iid, token)).json()
    blank = await env.call("POST", f"/v1/recourse/{made['id']}/answer", {"answer": "   "})
    assert blank.status_code == 400 and "the answer is empty" in blank.text
    assert (await env.call("POST", f"/v1/recourse/{made['id']}/answer", {"answer": "x"}, hr=False)).status_code == 401
    assert (await env.call("GET", "/v1/recourse", status="closed")).status_code == 400
