"""Share links on a real server, on SQLite and a real PostgreSQL: HR creates a read-only link to one interview (7 days
by default, only the token's hash stored); the hiring manager reads the report, transcript, highlights and recording
through it, every view and download logged in the audit log with the link's id and nothing personal; the manager
leaves one scorecard with a comment (a signed `review.submitted` event); expired or revoked links answer 401 saying
so; each refusal.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hr_testkit import job_body, report
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook
from workflow_testkit import DATABASES, WorkflowServer, workflow_server

from dialogue.session import QuestionKind, Turn
from server.db.status import InterviewStatus, RecordingStatus
from server.db.tables import AuditRow, ShareLinkRow

SCORES = {"sql": 7.0, "design": 6.0, "communication": 8.0}


class Env(WorkflowServer):
    async def interview(self) -> str:
        job = await self.call("POST", "/v1/jobs", job_body())
        c = await self.call("POST", "/v1/candidates", {"name": "Lee Min", "email": "lee.min@candidates.example"})
        iv = await self.call(
            "POST", "/v1/interviews", {"job_id": job.json()["id"], "candidate_id": c.json()["id"], "mode": "voice"}
        )
        assert iv.status_code == 201, iv.text
        iid = str(iv.json()["id"])
        answer = "I rewrote a slow report query with a covering index, and it went from minutes to seconds."
        turn = Turn(1, "q1", "q1", QuestionKind.MAIN, "Tell me about your sql work.", answer, 3.0, 9.5)
        await self.store.add_turn(iid, turn)
        await self.store.set_status(iid, InterviewStatus.COMPLETED, reason="completed")
        await self.store.save_report(iid, report(SCORES))
        return iid

    async def share(self, iid: str, body: Any = None) -> dict[str, Any]:
        made = await self.call("POST", f"/v1/interviews/{iid}/shares", body)
        assert made.status_code == 201, made.text
        return dict(made.json())

    async def open(self, link: str, suffix: str = "", method: str = "GET", body: Any = None) -> httpx.Response:
        """What the manager's browser asks of the API with the link's id and token."""
        parts = urlsplit(link)
        share_id = parts.path.rsplit("/", 1)[1]
        token = parse_qs(parts.query)["token"][0]
        return await self.call(method, f"/v1/shares/{share_id}{suffix}", body, hr=False, token=token)

    async def audit(self, iid: str) -> list[AuditRow]:
        async with AsyncSession(self.store.engine) as s:
            query = select(AuditRow).where(AuditRow.interview_id == iid).order_by(AuditRow.id)
            return list((await s.scalars(query)).all())

    async def change(self, statement: Any) -> None:
        async with self.store.engine.begin() as conn:
            await conn.execute(statement)


@pytest.fixture(scope="module", params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue("postgres_database")) if request.param == "postgres" else None


@pytest.fixture(scope="module")
async def env(database_url: str | None, free_port: Callable[[], int]) -> AsyncIterator[Env]:
    async with workflow_server(Env, database_url, free_port(), ["review.submitted"]) as made:
        yield made


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_a_share_link_shows_the_interview_read_only_and_each_view_is_logged_without_personal_data(
    env: Env,
) -> None:
    iid = await env.interview()
    shared = await env.share(iid)
    assert shared["interview_id"] == iid and shared["state"] == "open"
    assert shared["link"].startswith(f"{env.base}/share/{shared['id']}?token=")
    assert _at(shared["expires_at"]) - _at(shared["created_at"]) == timedelta(days=7)

    first, second = await env.open(shared["link"]), await env.open(shared["link"])

    assert first.status_code == 200 and second.status_code == 200, first.text
    view = first.json()
    assert (view["interview_id"], view["candidate_name"], view["job_title"]) == (iid, "Lee Min", "Data engineer")
    assert view["report"]["overall"] == report(SCORES).overall
    assert [t["answer"] for t in view["transcript"]] == [
        "I rewrote a slow report query with a covering index, and it went from minutes to seconds."
    ]
    assert isinstance(view["highlights"], list) and view["recording"]["status"] == "none"
    assert view["recording_url"] is None and view["scorecards"] == []

    views = [a for a in await env.audit(iid) if a.action == "share_viewed"]
    assert len(views) == 2
    assert all(a.actor == "share_link" and a.detail == {"share_id": shared["id"]} for a in views)
    token = parse_qs(urlsplit(shared["link"]).query)["token"][0]
    assert all(token not in json.dumps(a.detail) and "Lee Min" not in json.dumps(a.detail) for a in views)

    async with AsyncSession(env.store.engine) as s:
        row = await s.get(ShareLinkRow, shared["id"])
    assert row is not None and token not in (row.token_hash, row.id), "only the token's hash is stored"


async def test_the_recording_plays_through_the_link_and_each_download_is_logged(env: Env) -> None:
    iid = await env.interview()
    audio = env.data_dir / f"{iid}.ogg"
    audio.write_bytes(b"OggS" + uuid.uuid4().bytes * 64)
    await env.store.update_recording(
        iid, consent=True, status=RecordingStatus.COMPLETE, path=str(audio), media_type="audio/ogg", duration_s=12.0
    )
    shared = await env.share(iid)
    view = (await env.open(shared["link"])).json()
    assert view["recording"]["status"] == "complete"
    assert view["recording_url"] == f"{env.base}/v1/shares/{shared['id']}/recording"

    played = await env.open(shared["link"], "/recording")

    assert played.status_code == 200 and played.content == audio.read_bytes()
    assert played.headers["content-type"].startswith("audio/ogg")
    (logged,) = [a for a in await env.audit(iid) if a.action == "share_recording_downloaded"]
    assert logged.detail == {"share_id": shared["id"]}


async def test_no_recording_through_the_link_is_a_404(env: Env) -> None:
    shared = await env.share(await env.interview())
    missing = await env.open(shared["link"], "/recording")
    assert missing.status_code == 404 and "no complete recording" in missing.text


async def test_the_manager_leaves_one_scorecard_with_a_comment_and_a_signed_event(env: Env) -> None:
    iid = await env.interview()
    shared = await env.share(iid)
    card = {
        "name": "Maria Rossi",
        "email": "Maria.Rossi@Hiring.example",
        "ratings": {"sql": 4, "communication": 3},
        "recommendation": "yes",
        "comment": "Recommend hire.",
    }
    left = await env.open(shared["link"], "/scorecard", "POST", card)
    assert left.status_code == 201, left.text
    got = left.json()
    assert (got["reviewer_name"], got["reviewer_email"]) == ("Maria Rossi", "maria.rossi@hiring.example")
    assert (got["comment"], got["via_share_link"], got["ratings"]) == (
        "Recommend hire.",
        shared["id"],
        {"sql": 4, "communication": 3},
    )
    assert [c["id"] for c in (await env.open(shared["link"])).json()["scorecards"]] == [got["id"]]

    verifier = Webhook(env.secret)

    def mine() -> list[dict[str, Any]]:
        events = [verifier.verify(r.body, r.headers) for r in env.receiver.of_type("review.submitted")]
        return [e for e in events if e["data"]["interview_id"] == iid]

    await env.receiver.wait_for(lambda _: bool(mine()), seconds=30)
    (event,) = mine()
    assert event["data"]["review_id"] == got["id"] and event["data"]["recommendation"] == "yes"
    assert "maria" not in json.dumps(event).lower()

    again = await env.open(shared["link"], "/scorecard", "POST", card | {"recommendation": "no"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "scorecard_exists"


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ({"recommendation": "hire"}, "'hire' (at recommendation)"),
        ({"email": "maria"}, "'maria' is not an e-mail address"),
        ({"ratings": {"python": 2}}, "no dimension 'python'"),
        ({"ratings": {"sql": 9}}, "rating 9 for 'sql': use 1 to 4"),
        ({"name": ""}, "name"),
    ],
)
async def test_a_bad_manager_scorecard_is_a_400_naming_the_fault(env: Env, card: dict[str, Any], message: str) -> None:
    shared = await env.share(await env.interview())
    body = {"name": "Maria Rossi", "email": "maria@hiring.example", "recommendation": "yes"} | card
    refused = await env.open(shared["link"], "/scorecard", "POST", body)
    assert refused.status_code == 400 and message in refused.text, refused.text


async def test_an_expired_link_is_a_401_saying_it_expired(env: Env) -> None:
    iid = await env.interview()
    shared = await env.share(iid, {"expires_in_days": 2})
    assert _at(shared["expires_at"]) - _at(shared["created_at"]) == timedelta(days=2)
    past = datetime.now(UTC) - timedelta(seconds=1)
    await env.change(update(ShareLinkRow).where(ShareLinkRow.id == shared["id"]).values(expires_at=past))
    for suffix, method, body in (
        ("", "GET", None),
        ("/scorecard", "POST", {"name": "M", "email": "m@x.example", "recommendation": "yes"}),
    ):
        refused = await env.open(shared["link"], suffix, method, body)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "share_link_expired" and "expired on" in refused.text
    listed = (await env.call("GET", f"/v1/interviews/{iid}/shares")).json()
    assert [(s["id"], s["state"]) for s in listed] == [(shared["id"], "expired")]
    assert not [a for a in await env.audit(iid) if a.action == "share_viewed"], "a refused view is no view"


async def test_a_revoked_link_is_a_401_saying_it_was_revoked(env: Env) -> None:
    iid = await env.interview()
    shared = await env.share(iid)
    assert (await env.open(shared["link"])).status_code == 200
    revoked = await env.call("POST", f"/v1/shares/{shared['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    refused = await env.open(shared["link"])
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "share_link_revoked"
    assert "revoked by the employer" in refused.text
    again = await env.call("POST", f"/v1/shares/{shared['id']}/revoke")
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]


async def test_a_wrong_token_or_unknown_link_is_a_401_alike(env: Env) -> None:
    shared = await env.share(await env.interview())
    wrong = await env.call("GET", f"/v1/shares/{shared['id']}", hr=False, token="x" * 32)
    unknown = await env.call("GET", "/v1/shares/sh_nope", hr=False, token="x" * 32)
    none = await env.call("GET", f"/v1/shares/{shared['id']}", hr=False)
    assert {wrong.status_code, unknown.status_code, none.status_code} == {401}
    assert wrong.json() == unknown.json() == none.json()


async def test_hr_refusals_unknown_interview_bad_expiry_no_key_unknown_link(env: Env) -> None:
    assert (await env.call("POST", "/v1/interviews/iv_nope/shares")).status_code == 404
    assert (await env.call("GET", "/v1/interviews/iv_nope/shares")).status_code == 404
    iid = await env.interview()
    for days in (0, 91):
        bad = await env.call("POST", f"/v1/interviews/{iid}/shares", {"expires_in_days": days})
        assert bad.status_code == 400 and "expires_in_days" in bad.text
    assert (await env.call("POST", f"/v1/interviews/{iid}/shares", hr=False)).status_code == 401
    assert (await env.call("POST", "/v1/shares/sh_nope/revoke")).status_code == 404
