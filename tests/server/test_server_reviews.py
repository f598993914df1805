"""Reviews on a real server, on SQLite and a real PostgreSQL: a job's reviewers set over REST; a saved report asks
each of them by e-mail (sent over SMTP to a real aiosmtpd server, en and zh), in the in-app list and by a signed
`review.requested` webhook (verified with standardwebhooks), once however often it is re-scored; a blind review
hides the AI's report and the other scorecards until the reviewer's own is in; `review.submitted`; every refusal.

Interviews are made cheaply: scheduled over REST, then their turns and report stored as a finished session would.
"""

from __future__ import annotations

import asyncio
import email
import json
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from hr_testkit import job_body, report
from workflow_testkit import DATABASES, WorkflowServer, workflow_server

from dialogue.session import QuestionKind, Turn
from server.db.status import InterviewStatus
from server.interview_tokens import candidate_token
from server.settings import Settings, SettingsError

SCORES = {"sql": 8.0, "design": 6.0, "communication": 7.0}


class Inbox:
    """An aiosmtpd handler keeping each message as it arrived (aiosmtpd runs its own loop, in a thread)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    async def wait_for(self, addresses: set[str], seconds: float = 30.0) -> None:
        def arrived() -> None:
            with self._arrived:
                self._arrived.wait_for(lambda: all(self.to(a) for a in addresses), timeout=seconds)

        await asyncio.to_thread(arrived)


@dataclass
class Env(WorkflowServer):
    inbox: Inbox = field(default_factory=Inbox)  # the SMTP server's

    async def job(self, reviewers: list[tuple[str, str]], *, blind: bool | None = None, **fields: Any) -> str:
        created = await self.call("POST", "/v1/jobs", job_body() | fields)
        assert created.status_code == 201, created.text
        job_id = str(created.json()["id"])
        body: dict[str, Any] = {"reviewers": [{"name": n, "email": e} for n, e in reviewers]}
        if blind is not None:
            body["blind"] = blind
        put = await self.call("PUT", f"/v1/jobs/{job_id}/reviewers", body)
        assert put.status_code == 200, put.text
        return job_id

    async def finished(self, job_id: str, name: str = "Lee Min", scores: Mapping[str, float] = SCORES) -> str:
        """A completed interview of `job_id` with two answered turns and its report saved, as a session leaves one."""
        c = await self.call("POST", "/v1/candidates", {"name": name, "email": "lee.min@candidates.example"})
        assert c.status_code == 201, c.text
        iv = await self.call(
            "POST", "/v1/interviews", {"job_id": job_id, "candidate_id": c.json()["id"], "mode": "text"}
        )
        assert iv.status_code == 201, iv.text
        iid = str(iv.json()["id"])
        for seq, (question, answer) in enumerate(
            [("Tell me about your sql work.", "I tuned a slow join."), ("And design?", "I split a monolith.")], 1
        ):
            await self.store.add_turn(
                iid, Turn(seq, f"q{seq}", f"q{seq}", QuestionKind.MAIN, question, answer, None, None)
            )
        await self.store.set_status(iid, InterviewStatus.COMPLETED, reason="completed")
        await self.store.save_report(iid, report(scores))
        return iid

    async def tasks(self, interview_id: str, **params: str) -> list[dict[str, Any]]:
        listed = await self.call("GET", "/v1/reviews", query=params)
        assert listed.status_code == 200, listed.text
        return [t for t in listed.json() if t["interview_id"] == interview_id]


@pytest.fixture(scope="module", params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """The session's throwaway PostgreSQL, or None: SQLite in the server's data folder."""
    return str(request.getfixturevalue("postgres_database")) if request.param == "postgres" else None


@pytest.fixture(scope="module")
async def env(database_url: str | None, free_port: Callable[[], int]) -> AsyncIterator[Env]:
    inbox, smtp_port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    try:
        events = ["review.requested", "review.submitted"]
        mail = {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_security": "none"}
        async with workflow_server(Env, database_url, free_port(), events, **mail) as made:
            made.inbox = inbox
            yield made
    finally:
        smtp.stop()


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _address() -> str:
    return f"r{uuid.uuid4().hex[:10]}@reviewers.example"


async def test_a_ready_report_asks_each_reviewer_by_email_in_the_list_and_by_webhook_once(env: Env) -> None:
    ana, bo = _address(), _address()
    job_id = await env.job([("Ana Silva", ana), ("Bo Chen", bo)])

    loop = asyncio.get_running_loop()
    saved = loop.time()
    iid = await env.finished(job_id)

    await env.inbox.wait_for({ana, bo})
    assert loop.time() - saved < 60, "reviewers are told within 60 s of the report"
    (to_ana,) = env.inbox.to(ana)
    assert to_ana["Subject"] == "Finished, please review: Lee Min for Data engineer"
    assert to_ana["To"] == f"Ana Silva <{ana}>" and to_ana["Content-Language"] == "en"
    tasks = await env.tasks(iid, status="pending")
    assert sorted((t["reviewer_name"], t["reviewer_email"]) for t in tasks) == [("Ana Silva", ana), ("Bo Chen", bo)]
    ana_task = next(t for t in tasks if t["reviewer_email"] == ana)
    body = to_ana.get_content()
    assert f"{env.base}/v1/reviews/{ana_task['id']}" in body and "once you have submitted yours" in body
    assert all(t["reason"] == "report_ready" and t["job_id"] == job_id for t in tasks)
    assert {_at(t["due_at"]) - _at(t["created_at"]) for t in tasks} == {timedelta(days=7)}

    requested = await env.wait_events("review.requested", iid, 2)
    assert sorted(e["data"]["review_id"] for e in requested) == sorted(t["id"] for t in tasks)
    assert {(e["data"]["requested_by"], e["data"]["job_id"]) for e in requested} == {("hr", job_id)}
    assert {_at(e["data"]["due_at"]) for e in requested} == {_at(t["due_at"]) for t in tasks}

    # A re-score is a new report version: nobody is asked again.
    await env.store.save_report(iid, report({"sql": 5.0, "design": 5.0, "communication": 5.0}))
    await asyncio.sleep(1.0)
    assert len(await env.tasks(iid)) == 2
    assert len(env.inbox.to(ana)) == 1 and len(env.events("review.requested", iid)) == 2


async def test_the_request_to_a_chinese_job_s_reviewer_is_in_chinese(env: Env) -> None:
    wang = _address()
    zh_job = job_body("数据工程师") | {"language": "zh"}
    job_id = await env.job([("王芳", wang)], **zh_job)
    await env.finished(job_id, name="李敏")
    await env.inbox.wait_for({wang})
    (message,) = env.inbox.to(wang)
    assert message["Subject"] == "面试已完成，请审阅：李敏（数据工程师）"
    assert message["Content-Language"] == "zh-CN" and "请在" in message.get_content()


async def test_a_job_without_reviewers_asks_nobody(env: Env) -> None:
    job_id = await env.job([])
    iid = await env.finished(job_id)
    await asyncio.sleep(0.5)
    assert await env.tasks(iid) == [] and env.events("review.requested", iid) == []


async def _review(env: Env, review_id: str) -> dict[str, Any]:
    got = await env.call("GET", f"/v1/reviews/{review_id}")
    assert got.status_code == 200, got.text
    return dict(got.json())


async def test_a_blind_reviewer_sees_the_ai_report_and_other_scorecards_only_after_submitting(env: Env) -> None:
    ana, bo = _address(), _address()
    job_id = await env.job([("Ana Silva", ana), ("Bo Chen", bo)])
    iid = await env.finished(job_id)
    tasks = {t["reviewer_email"]: t["id"] for t in await env.tasks(iid)}

    before = await _review(env, tasks[ana])
    assert before["blind"] is True and before["hidden"] == ["ai_report", "other_scorecards"]
    assert before["ai_report"] is None and before["other_scorecards"] is None and before["scorecard"] is None
    assert before["dimensions"] == ["sql", "design", "communication"]
    assert [t["answer"] for t in before["transcript"]] == ["I tuned a slow join.", "I split a monolith."]
    assert "overall" not in json.dumps(before)

    bo_card = await env.call(
        "POST",
        f"/v1/reviews/{tasks[bo]}/scorecard",
        {"ratings": {"sql": 2}, "recommendation": "no", "comment": "Thin."},
    )
    assert bo_card.status_code == 201, bo_card.text
    still = await _review(env, tasks[ana])
    assert still["ai_report"] is None and still["other_scorecards"] is None, "another's scorecard does not unblind"
    assert "Thin." not in json.dumps(still)

    mine = await env.call(
        "POST",
        f"/v1/reviews/{tasks[ana]}/scorecard",
        {"ratings": {"sql": 4, "design": 3, "communication": 3}, "recommendation": "strong_yes", "comment": "Hire."},
    )
    assert mine.status_code == 201, mine.text
    card = mine.json()
    assert (card["reviewer_name"], card["reviewer_email"], card["recommendation"]) == ("Ana Silva", ana, "strong_yes")
    assert card["ratings"] == {"sql": 4, "design": 3, "communication": 3} and card["via_share_link"] is None

    after = await _review(env, tasks[ana])
    assert after["hidden"] == [] and after["scorecard"]["id"] == card["id"]
    assert after["ai_report"]["overall"] == report(SCORES).overall
    assert [d["score"] for d in after["ai_report"]["dimensions"]] == list(SCORES.values())
    (other,) = after["other_scorecards"]
    assert (other["reviewer_email"], other["recommendation"], other["comment"]) == (bo, "no", "Thin.")
    assert {t["id"]: t["status"] for t in await env.tasks(iid)} == {tasks[ana]: "done", tasks[bo]: "done"}

    submitted = await env.wait_events("review.submitted", iid, 2)
    assert sorted(e["data"]["review_id"] for e in submitted) == sorted([card["id"], bo_card.json()["id"]])
    assert {e["data"]["recommendation"] for e in submitted} == {"strong_yes", "no"}
    assert all(ana not in json.dumps(e) and bo not in json.dumps(e) for e in submitted), "pseudonyms, no addresses"


async def test_with_blind_review_off_the_ai_report_and_others_show_before_submitting(env: Env) -> None:
    ana = _address()
    job_id = await env.job([("Ana Silva", ana)], blind=False)
    policy = await env.call("GET", f"/v1/jobs/{job_id}/reviewers")
    assert policy.json() == {"job_id": job_id, "reviewers": [{"name": "Ana Silva", "email": ana}], "blind": False}
    iid = await env.finished(job_id)
    (task,) = await env.tasks(iid)
    seen = await _review(env, task["id"])
    assert seen["blind"] is False and seen["hidden"] == [] and seen["other_scorecards"] == []
    assert seen["ai_report"]["overall"] == report(SCORES).overall


async def test_a_second_scorecard_from_the_same_reviewer_is_refused(env: Env) -> None:
    ana = _address()
    iid = await env.finished(await env.job([("Ana Silva", ana)]))
    (task,) = await env.tasks(iid)
    first = await env.call("POST", f"/v1/reviews/{task['id']}/scorecard", {"recommendation": "yes"})
    assert first.status_code == 201, first.text
    again = await env.call("POST", f"/v1/reviews/{task['id']}/scorecard", {"recommendation": "no"})
    assert again.status_code == 409
    assert (
        again.json()["error"]["code"] == "scorecard_exists" and "already submitted" in again.json()["error"]["message"]
    )
    assert (await _review(env, task["id"]))["scorecard"]["recommendation"] == "yes"


@pytest.fixture(scope="module")
async def one_task(env: Env) -> str:
    iid = await env.finished(await env.job([("Ana Silva", _address())]))
    (task,) = await env.tasks(iid)
    return str(task["id"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"recommendation": "maybe"}, "'maybe' (at recommendation)"),
        ({"recommendation": "yes", "ratings": {"sql": 5}}, "rating 5 for 'sql': use 1 to 4"),
        ({"recommendation": "yes", "ratings": {"sql": 0}}, "rating 0 for 'sql': use 1 to 4"),
        ({"recommendation": "yes", "ratings": {"python": 3}}, "no dimension 'python'"),
        ({"recommendation": "yes", "ratings": {"sql": "high"}}, "Expected `int`, got `str` (at ratings"),
        ({"ratings": {"sql": 3}}, "recommendation"),
        ({"recommendation": "yes", "score": 9}, "score"),
    ],
)
async def test_a_bad_scorecard_is_a_400_naming_the_fault(
    env: Env, one_task: str, body: dict[str, Any], message: str
) -> None:
    refused = await env.call("POST", f"/v1/reviews/{one_task}/scorecard", body)
    assert refused.status_code == 400, refused.text
    assert message in refused.text


async def test_an_unknown_review_is_a_404_for_reading_and_for_a_scorecard(env: Env) -> None:
    for method, path, body in (
        ("GET", "/v1/reviews/rev_nope", None),
        ("POST", "/v1/reviews/rev_nope/scorecard", {"recommendation": "yes"}),
    ):
        missing = await env.call(method, path, body)
        assert missing.status_code == 404 and "rev_nope" in missing.json()["error"]["message"]


@pytest.mark.parametrize(
    ("reviewers", "message"),
    [
        ([{"name": "Ana", "email": "not-an-address"}], "is not an e-mail address"),
        ([{"name": "Ana", "email": "a@x.example"}, {"name": "A", "email": "A@x.example"}], "listed twice"),
        ([{"name": "", "email": "a@x.example"}], "name"),
    ],
)
async def test_a_bad_reviewer_list_is_a_400_naming_the_fault(
    env: Env, reviewers: list[dict[str, str]], message: str
) -> None:
    job_id = await env.job([])
    refused = await env.call("PUT", f"/v1/jobs/{job_id}/reviewers", {"reviewers": reviewers})
    assert refused.status_code == 400 and message in refused.text


async def test_reviewers_of_an_unknown_job_are_a_404_and_a_bad_list_filter_a_400(env: Env) -> None:
    assert (await env.call("PUT", "/v1/jobs/job_nope/reviewers", {"reviewers": []})).status_code == 404
    assert (await env.call("GET", "/v1/jobs/job_nope/reviewers")).status_code == 404
    bad = await env.call("GET", "/v1/reviews", status="open")
    assert bad.status_code == 400 and "status" in bad.text


async def test_reviews_need_the_hr_key(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.base) as c:
        assert (await c.get("/v1/reviews")).status_code == 401
        assert (await c.post("/v1/reviews/rev_x/scorecard", json={"recommendation": "yes"})).status_code == 401


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("review_due_days", 0, "SHANMIAN_REVIEW_DUE_DAYS must be 1 to 365"),
        ("recourse_due_days", 366, "SHANMIAN_RECOURSE_DUE_DAYS must be 1 to 365"),
        ("share_link_expiry_days", 91, "SHANMIAN_SHARE_LINK_EXPIRY_DAYS must be 1 to 90"),
    ],
)
def test_a_review_setting_out_of_range_is_refused_by_name(name: str, value: int, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({f"SHANMIAN_{name.upper()}": str(value)}, api_key="k")


async def test_erasing_the_candidate_erases_their_reviews_scorecards_recourse_share_links_and_review_emails(
    env: Env,
) -> None:
    ana = _address()
    iid = await env.finished(await env.job([("Ana Silva", ana)]))
    await env.inbox.wait_for({ana})
    (task,) = await env.tasks(iid)
    assert (await env.call("POST", f"/v1/reviews/{task['id']}/scorecard", {"recommendation": "yes"})).status_code == 201
    interview = await env.store.interview(iid)
    assert interview is not None
    recourse = await env.call(
        "POST", f"/v1/interviews/{iid}/recourse", token=candidate_token(env.store.vault, interview)
    )
    assert recourse.status_code == 201, recourse.text
    share = (await env.call("POST", f"/v1/interviews/{iid}/shares")).json()

    erased = await env.call("POST", f"/v1/candidates/{interview.candidate_id}/erase")

    assert erased.status_code == 200, erased.text
    counts = erased.json()["counts"]
    assert (counts["review_tasks"], counts["scorecards"], counts["share_links"]) == (2, 1, 1)
    assert counts["mail_outbox"] == 1, "the review request names the candidate: it goes with them"
    assert await env.tasks(iid) == []
    token = share["link"].split("token=")[1]
    gone = await env.call("GET", f"/v1/shares/{share['id']}", token=token)
    assert gone.status_code == 401


async def test_a_reviewer_s_own_list_and_a_candidate_s_request_is_not_scored_as_a_review(env: Env) -> None:
    ana, bo = _address(), _address()
    iid = await env.finished(await env.job([("Ana Silva", ana), ("Bo Chen", bo)]))
    mine = await env.tasks(iid, reviewer=ana.upper())
    assert [t["reviewer_email"] for t in mine] == [ana]

    interview = await env.store.interview(iid)
    assert interview is not None
    asked = await env.call("POST", f"/v1/interviews/{iid}/recourse", token=candidate_token(env.store.vault, interview))
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    for method, path, body in (
        ("GET", f"/v1/reviews/{request_id}", None),
        ("POST", f"/v1/reviews/{request_id}/scorecard", {"recommendation": "yes"}),
    ):
        refused = await env.call(method, path, body)
        assert refused.status_code == 409 and f"POST /v1/recourse/{request_id}/answer" in refused.text
