"""Invitations over a real server on SQLite and a real PostgreSQL: single and bulk invites, the Idempotency-Key
(the same answer and nothing sent twice; another body 422; concurrent duplicates 409), the link and its expiry and
revocation (401, and the candidate's stream closed), the e-mails held in the outbox without SMTP and read over
REST, the `candidate.invited` webhook verified with standardwebhooks, and every body error.

No models are loaded: invitations need none (rule-based plans).
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from server_testkit import start_server, stop_server
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from standardwebhooks import Webhook
from webhook_receiver import Receiver

from server.db.tables import BookingRow, IdempotencyKeyRow, InterviewRow, InvitationRow, MailRow
from server.runtime import Runtime
from server.settings import Settings

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
KEY = "invite-test-key"
JOB = {"title": "Warehouse supervisor", "questions": [{"text": "Tell me about a shift you ran."}]}


@dataclass
class Hr:
    """HR's client for one running server, and that server's database."""

    base: str
    settings: Settings

    def headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {KEY}"}
        return h | ({"Idempotency-Key": idempotency_key} if idempotency_key is not None else {})

    async def post(self, path: str, body: Any, key: str | None = None) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base, timeout=60) as c:
            return await c.post(path, json=body, headers=self.headers(key))

    async def get(self, path: str, **params: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base, timeout=60) as c:
            return await c.get(path, params=params, headers=self.headers())

    async def job(self, **fields: Any) -> str:
        created = await self.post("/v1/jobs", JOB | fields)
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    async def candidate(self, name: str, email: str | None = "") -> str:
        address = f"{uuid.uuid4().hex[:8]}@candidates.example" if email == "" else email
        body = {"name": name} | ({"email": address} if address else {})
        created = await self.post("/v1/candidates", body)
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    async def invite_one(self, job_id: str, name: str) -> dict[str, Any]:
        created = await self.post("/v1/invitations", {"job_id": job_id, "candidate_id": await self.candidate(name)})
        assert created.status_code == 201, created.text
        (invitation,) = created.json()["invitations"]
        return dict(invitation)

    async def count(self, table: Any, *where: Any) -> int:
        engine = create_async_engine(self.settings.sqlalchemy_url)
        try:
            async with AsyncSession(engine) as s:
                return int(await s.scalar(select(func.count()).select_from(table).where(*where)) or 0)
        finally:
            await engine.dispose()

    async def change(self, statement: Any) -> None:
        engine = create_async_engine(self.settings.sqlalchemy_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(statement)
        finally:
            await engine.dispose()


class Servers:
    def __init__(self, data_dir: Path, free_port: Callable[[], int]) -> None:
        self.data_dir = data_dir
        self.free_port = free_port
        self.running: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(self, database_url: str, **overrides: Any) -> Hr:
        settings = Settings.from_env(
            {},
            api_key=KEY,
            port=self.free_port(),
            data_dir=self.data_dir,
            database_url=database_url,
            voice=False,
            llm_backend="none",
            score_backend="none",
            plan_model="none",
            webhook_allowed_targets="loopback",
            rate_limit_per_minute=100_000,
            **overrides,
        )
        self.running.append(await start_server(settings, Runtime(settings)))
        return Hr(f"http://127.0.0.1:{settings.port}", settings)


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return f"sqlite:///{tmp_path / 'shanmian.db'}"


@pytest.fixture
async def servers(free_port: Callable[[], int]) -> AsyncIterator[Servers]:
    with tempfile.TemporaryDirectory(prefix="shanmian-invite-") as data:
        started = Servers(Path(data), free_port)
        yield started
        while started.running:
            await stop_server(*started.running.pop())


@pytest.fixture
async def hr(servers: Servers, database_url: str) -> Hr:
    started = await servers.start(database_url)
    # The PostgreSQL database serves the whole test session: each test starts with no invitations or mail of others.
    for table in (InvitationRow, MailRow, IdempotencyKeyRow):
        await started.change(delete(table))
    return started


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_an_invite_makes_an_interview_a_link_a_held_email_and_a_signed_webhook(
    hr: Hr, receiver: Receiver
) -> None:
    hook = await hr.post("/v1/webhooks/endpoints", {"url": receiver.url, "event_types": ["candidate.invited"]})
    assert hook.status_code == 201, hook.text
    job_id = await hr.job(language="zh", title="仓库主管")
    candidate_id = await hr.candidate("李伟", "li.wei@candidates.example")

    created = await hr.post("/v1/invitations", {"job_id": job_id, "candidate_id": candidate_id}, key="k-single")

    assert created.status_code == 201, created.text
    assert "Idempotent-Replayed" not in created.headers
    (inv,) = created.json()["invitations"]
    assert inv["job_id"] == job_id and inv["candidate_id"] == candidate_id and inv["state"] == "open"
    assert (
        inv["language"] == "zh"
        and inv["mode"] == "voice"
        and inv["link"].startswith(f"{hr.base}/invite/{inv['id']}?token=")
    )
    assert _at(inv["expires_at"]) - _at(inv["created_at"]) == timedelta(days=14)
    interview = await hr.get(f"/v1/interviews/{inv['interview_id']}")
    assert interview.json()["status"] == "scheduled" and interview.json()["candidate_id"] == candidate_id

    # No SMTP configured: the e-mail is held for HR, in Chinese, carrying the link.
    held = (await hr.get("/v1/mail", state="held")).json()
    assert [m["id"] for m in held] == [inv["mail_id"]]
    assert held[0]["to"] == "李伟 <li.wei@candidates.example>" and held[0]["subject"] == "面试邀请：仓库主管"
    mail = (await hr.get(f"/v1/mail/{inv['mail_id']}")).json()
    assert inv["link"] in mail["text"] and "该链接在" in mail["text"] and mail["state"] == "held"
    assert (await hr.get("/v1/mail", state="sent")).json() == []

    (got,) = await receiver.wait_for(lambda r: len(r) >= 1)
    Webhook(hook.json()["secret"]).verify(got.body, got.headers)
    body = json.loads(got.body)
    assert body["type"] == "candidate.invited"
    assert body["data"] == {
        "invitation_id": inv["id"],
        "job_id": job_id,
        "candidate_id": candidate_id,
        "language": "zh",
        "expires_at": inv["expires_at"].replace("+00:00", "Z"),
    }


async def test_the_same_key_and_body_answer_the_same_and_send_nothing_twice(hr: Hr) -> None:
    job_id = await hr.job()
    ids = [await hr.candidate(f"Candidate {n}") for n in range(3)]
    body = {"job_id": job_id, "candidate_ids": ids, "mode": "text"}

    first = await hr.post("/v1/invitations", body, key="k-retry")
    again = await hr.post("/v1/invitations", {**body, "expires_in_days": 14}, key="k-retry")  # the same, spelt out

    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert await hr.count(InvitationRow, InvitationRow.job_id == job_id) == 3
    assert await hr.count(MailRow) == 3
    assert len((await hr.get("/v1/invitations", job_id=job_id)).json()) == 3


async def test_the_same_key_with_another_body_is_refused_with_422(hr: Hr) -> None:
    job_id = await hr.job()
    one, other = await hr.candidate("One"), await hr.candidate("Other")
    assert (await hr.post("/v1/invitations", {"job_id": job_id, "candidate_id": one}, key="k-body")).status_code == 201

    refused = await hr.post("/v1/invitations", {"job_id": job_id, "candidate_id": other}, key="k-body")

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "idempotency_key_reused"
    assert await hr.count(InvitationRow, InvitationRow.job_id == job_id) == 1


async def test_concurrent_duplicates_create_once_and_the_others_get_409(hr: Hr) -> None:
    job_id = await hr.job()
    ids = [await hr.candidate(f"Bulk {n}") for n in range(40)]
    body = {"job_id": job_id, "candidate_ids": ids}

    async with httpx.AsyncClient(base_url=hr.base, timeout=120, limits=httpx.Limits(max_connections=20)) as c:
        answers = await asyncio.gather(
            *(c.post("/v1/invitations", json=body, headers=hr.headers("k-race")) for _ in range(12))
        )

    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409} and 409 in statuses, statuses
    conflicts = [a.json()["error"]["code"] for a in answers if a.status_code == 409]
    assert set(conflicts) == {"idempotency_key_in_use"}
    created = [a.json() for a in answers if a.status_code == 201]
    assert created and all(c == created[0] for c in created)
    assert await hr.count(InvitationRow, InvitationRow.job_id == job_id) == 40
    assert await hr.count(MailRow) == 40
    # Once answered, the key replays.
    later = await hr.post("/v1/invitations", body, key="k-race")
    assert later.status_code == 201 and later.json() == created[0]


async def test_a_bulk_invite_without_a_key_invites_each_and_mails_those_with_an_address(hr: Hr) -> None:
    job_id = await hr.job()
    with_mail = [await hr.candidate(f"Mail {n}") for n in range(4)]
    without = await hr.candidate("No address", email=None)

    created = await hr.post("/v1/invitations", {"job_id": job_id, "candidate_ids": [*with_mail, without]})

    assert created.status_code == 201, created.text
    invitations = created.json()["invitations"]
    assert [i["candidate_id"] for i in invitations] == [*with_mail, without]
    assert len({i["link"] for i in invitations}) == 5 and len({i["interview_id"] for i in invitations}) == 5
    assert invitations[-1]["mail_id"] is None and all(i["mail_id"] for i in invitations[:-1])
    assert len((await hr.get("/v1/mail")).json()) == 4
    english = (await hr.get(f"/v1/mail/{invitations[0]['mail_id']}")).json()
    assert english["subject"] == "Invitation: your interview for Warehouse supervisor"
    assert invitations[0]["link"] in english["text"]


async def test_a_name_typed_with_a_line_break_is_invited_not_a_server_error(hr: Hr) -> None:
    job_id = await hr.job(title="Night\nshift lead")
    inv = await hr.invite_one(job_id, "Ada\r\nBcc: eve@evil.example")
    mail = (await hr.get(f"/v1/mail/{inv['mail_id']}")).json()
    assert mail["subject"] == "Invitation: your interview for Night shift lead"
    assert mail["to"].startswith('"Ada Bcc: eve@evil.example" <') and "\nBcc:" not in mail["message"]


async def test_the_link_opens_the_interview_and_after_revocation_answers_401_and_the_stream_is_closed(hr: Hr) -> None:
    job_id = await hr.job()
    inv = await hr.invite_one(job_id, "Ada")

    async with httpx.AsyncClient() as c:
        opened = await c.get(inv["link"])
        assert opened.status_code == 303
        join = opened.headers["location"]
        assert join.startswith(f"/join/{inv['interview_id']}?token=")
        assert (await c.get(f"{hr.base}{join.replace('?', '/info?', 1)}")).json()["status"] == "scheduled"

        revoked = await hr.post(f"/v1/invitations/{inv['id']}/revoke", {})
        assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
        closed = await c.get(inv["link"])
        assert closed.status_code == 401
        assert closed.json()["error"]["code"] == "invitation_revoked"
        assert "withdrawn" in closed.json()["error"]["message"]

    again = await hr.post(f"/v1/invitations/{inv['id']}/revoke", {})
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]
    interview = (await hr.get(f"/v1/interviews/{inv['interview_id']}")).json()
    assert interview["status"] == "abandoned" and interview["end_reason"] == "invitation_revoked"
    token = join.partition("?token=")[2]
    ws_url = hr.base.replace("http", "ws", 1) + f"/v1/interviews/{inv['interview_id']}/stream?token={token}"
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps({"type": "hello", "mode": "text"}))
        messages = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(2)]
    assert messages[0]["type"] == "error" and messages[0]["code"] == "session_closed", messages
    assert messages[1]["type"] == "closed"


async def test_a_link_that_expired_unused_closes_its_interview_so_its_join_link_stops_working_too(
    servers: Servers, database_url: str, receiver: Receiver
) -> None:
    hr = await servers.start(database_url, invitation_poll_s=0.2)
    for table in (InvitationRow, MailRow, IdempotencyKeyRow):
        await hr.change(delete(table))
    hook = await hr.post("/v1/webhooks/endpoints", {"url": receiver.url, "event_types": ["interview.abandoned"]})
    assert hook.status_code == 201, hook.text
    job_id = await hr.job()
    unused, booked, still_open = [await hr.invite_one(job_id, name) for name in ("Ada", "Grace", "Edsger")]
    async with httpx.AsyncClient() as c:
        join = (await c.get(unused["link"])).headers["location"]
    expired_at = datetime.now(UTC) - timedelta(seconds=1)
    # Grace booked a time while her link was open: the booking is her appointment, whatever the link's date.
    await hr.change(
        insert(BookingRow).values(
            id=f"bk_{uuid.uuid4().hex[:12]}",
            interview_id=booked["interview_id"],
            job_id=job_id,
            candidate_id=booked["candidate_id"],
            slot_start=expired_at + timedelta(days=3),
            slot_end=expired_at + timedelta(days=3, minutes=30),
            time_zone="UTC",
            shown_zone="UTC",
            status="confirmed",
            revision=0,
            changed_at=expired_at,
            created_at=expired_at,
        )
    )
    await hr.change(
        update(InvitationRow).where(InvitationRow.id.in_([unused["id"], booked["id"]])).values(expires_at=expired_at)
    )

    (event,) = await receiver.wait_for(lambda r: len(r) >= 1)
    assert json.loads(event.body)["data"]["interview_id"] == unused["interview_id"]
    interview = (await hr.get(f"/v1/interviews/{unused['interview_id']}")).json()
    assert interview["status"] == "abandoned" and interview["end_reason"] == "invitation_expired"
    for other in (booked, still_open):
        assert (await hr.get(f"/v1/interviews/{other['interview_id']}")).json()["status"] == "scheduled"

    # The join link it had handed out (bookmarked, or forwarded) no longer starts the interview.
    async with httpx.AsyncClient() as c:
        assert (await c.get(f"{hr.base}{join.replace('?', '/info?', 1)}")).json()["status"] == "abandoned"
    token = join.partition("?token=")[2]
    ws_url = hr.base.replace("http", "ws", 1) + f"/v1/interviews/{unused['interview_id']}/stream?token={token}"
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps({"type": "hello", "mode": "text"}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert reply["type"] == "error" and reply["code"] == "session_closed", reply
    await asyncio.sleep(1)  # further rounds close nothing more, and send nothing twice
    assert len(receiver.received) == 1


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_the_links_token_never_reaches_the_access_log(hr: Hr) -> None:
    inv = await hr.invite_one(await hr.job(), "Eve")
    token = inv["link"].partition("token=")[2]
    access = logging.getLogger("uvicorn.access")
    lines, level = Lines(), access.level
    access.addHandler(lines)
    access.setLevel(logging.INFO)
    try:
        async with httpx.AsyncClient() as c:
            assert (await c.get(inv["link"])).status_code == 303
    finally:
        access.removeHandler(lines)
        access.setLevel(level)
    (line,) = [x for x in lines.lines if "/invite/" in x]
    assert token not in line and f"/invite/{inv['id']}?token=[redacted]" in line


async def test_an_expired_link_answers_401_in_the_jobs_language(hr: Hr) -> None:
    job_id = await hr.job(language="zh", title="仓库主管")
    body = {"job_id": job_id, "candidate_id": await hr.candidate("王芳"), "expires_in_days": 1}
    (inv,) = (await hr.post("/v1/invitations", body)).json()["invitations"]
    assert _at(inv["expires_at"]) - _at(inv["created_at"]) == timedelta(days=1)

    # A day passes.
    await hr.change(
        update(InvitationRow)
        .where(InvitationRow.id == inv["id"])
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )

    async with httpx.AsyncClient() as c:
        closed = await c.get(inv["link"])
    assert closed.status_code == 401 and closed.json()["error"]["code"] == "invitation_expired"
    assert "过期" in closed.json()["error"]["message"]
    assert (await hr.get(f"/v1/invitations/{inv['id']}")).json()["state"] == "expired"
    async with httpx.AsyncClient() as c:
        wrong = await c.get(f"{hr.base}/invite/{inv['id']}", params={"token": "not-its-token"})
        unknown = await c.get(f"{hr.base}/invite/inv_nope", params={"token": inv["link"].partition("token=")[2]})
        bare = await c.get(f"{hr.base}/invite/{inv['id']}")
    for refused in (wrong, unknown, bare):
        assert refused.status_code == 401 and refused.json() == unknown.json()
    assert unknown.json()["error"]["code"] == "unauthorized"


async def test_revoking_an_interview_that_began_is_refused(hr: Hr) -> None:
    job_id = await hr.job()
    inv = await hr.invite_one(job_id, "Bo")
    await hr.change(update(InterviewRow).where(InterviewRow.id == inv["interview_id"]).values(status="live"))

    refused = await hr.post(f"/v1/invitations/{inv['id']}/revoke", {})

    assert refused.status_code == 409 and "live" in refused.json()["error"]["message"]
    assert (await hr.get(f"/v1/invitations/{inv['id']}")).json()["state"] == "open"
    assert (await hr.post("/v1/invitations/inv_nope/revoke", {})).status_code == 404
    assert (await hr.get("/v1/invitations/inv_nope")).status_code == 404


async def test_erasing_a_candidate_erases_their_invitations_and_emails(hr: Hr) -> None:
    job_id = await hr.job()
    kept = await hr.invite_one(job_id, "Kept")
    gone = await hr.invite_one(job_id, "Erased")

    erased = await hr.post(f"/v1/candidates/{gone['candidate_id']}/erase", {})

    assert erased.status_code == 200, erased.text
    assert (await hr.get(f"/v1/invitations/{gone['id']}")).status_code == 404
    assert (await hr.get(f"/v1/mail/{gone['mail_id']}")).status_code == 404
    assert await hr.count(MailRow, MailRow.candidate_id == gone["candidate_id"]) == 0
    assert (await hr.get(f"/v1/invitations/{kept['id']}")).status_code == 200
    assert (await hr.get(f"/v1/mail/{kept['mail_id']}")).status_code == 200
    async with httpx.AsyncClient() as c:
        assert (await c.get(gone["link"])).status_code == 401


async def test_the_default_expiry_is_a_setting(servers: Servers, tmp_path: Path) -> None:
    hr = await servers.start(f"sqlite:///{tmp_path / 'expiry.db'}", invitation_expiry_days=3)
    job_id = await hr.job()
    inv = await hr.invite_one(job_id, "Cy")
    assert _at(inv["expires_at"]) - _at(inv["created_at"]) == timedelta(days=3)


BAD_BODIES = [
    ({"candidate_id": "c"}, "job_id"),
    ({"job_id": ""}, "job_id"),
    ({"job_id": "j"}, "either candidate_id"),
    ({"job_id": "j", "candidate_id": "c", "candidate_ids": ["d"]}, "either candidate_id"),
    ({"job_id": "j", "candidate_ids": []}, "candidate_ids"),
    ({"job_id": "j", "candidate_ids": [f"c{n}" for n in range(501)]}, "candidate_ids"),
    ({"job_id": "j", "candidate_ids": [""]}, "candidate_ids"),
    ({"job_id": "j", "candidate_id": "c", "mode": "telepathy"}, "mode"),
    ({"job_id": "j", "candidate_id": "c", "expires_in_days": 0}, "expires_in_days"),
    ({"job_id": "j", "candidate_id": "c", "expires_in_days": 366}, "expires_in_days"),
    ({"job_id": "j", "candidate_id": "c", "expires_in_days": "soon"}, "expires_in_days"),
    ({"job_id": "j", "candidate_id": "c", "cc": "boss@example.com"}, "cc"),
]


@pytest.mark.parametrize(("body", "named"), BAD_BODIES, ids=[n for _, n in BAD_BODIES])
async def test_each_bad_body_is_refused_with_a_message_naming_the_field(
    servers: Servers, body: Any, named: str
) -> None:
    hr = await servers.start(f"sqlite:///{servers.data_dir / 'bad.db'}")
    refused = await hr.post("/v1/invitations", body, key=f"k-{uuid.uuid4().hex}")
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "bad_request" and named in refused.json()["error"]["message"]


async def test_unknown_jobs_and_candidates_and_repeats_are_refused_and_the_key_can_be_used_again(hr: Hr) -> None:
    job_id = await hr.job()
    real = await hr.candidate("Real")

    no_job = await hr.post("/v1/invitations", {"job_id": "nope", "candidate_id": real}, key="k-fix")
    assert no_job.status_code == 400 and "job_id 'nope' does not exist" in no_job.json()["error"]["message"]
    ghost = await hr.post("/v1/invitations", {"job_id": job_id, "candidate_ids": [real, "ghost"]})
    assert ghost.status_code == 400 and "ghost" in ghost.json()["error"]["message"]
    twice = await hr.post("/v1/invitations", {"job_id": job_id, "candidate_ids": [real, real]})
    assert twice.status_code == 400 and "more than once" in twice.json()["error"]["message"]
    odd = await hr.candidate("Odd", "not-an-address")
    unusable = await hr.post("/v1/invitations", {"job_id": job_id, "candidate_ids": [real, odd]})
    assert unusable.status_code == 400 and f"not an address: {odd}" in unusable.json()["error"]["message"]
    assert await hr.count(InvitationRow) == 0 and await hr.count(MailRow) == 0

    # The refused request wrote nothing under its key: corrected, it goes through.
    fixed = await hr.post("/v1/invitations", {"job_id": job_id, "candidate_id": real}, key="k-fix")
    assert fixed.status_code == 201, fixed.text


async def test_the_key_header_and_the_api_key_are_checked(hr: Hr) -> None:
    job_id = await hr.job()
    body = {"job_id": job_id, "candidate_id": await hr.candidate("Di")}
    too_long = await hr.post("/v1/invitations", body, key="k" * 256)
    assert too_long.status_code == 400 and "idempotency_key" in too_long.json()["error"]["message"]
    async with httpx.AsyncClient(base_url=hr.base) as c:
        assert (await c.post("/v1/invitations", json=body)).status_code == 401
        assert (await c.get("/v1/mail")).status_code == 401
    assert (await hr.get("/v1/mail", state="lost")).status_code == 400
    assert (await hr.get("/v1/mail/ml_nope")).status_code == 404
