"""E-mail for real: invitations sent by a real server over SMTP to a real in-process SMTP server (aiosmtpd) and read
back as they arrived, a login with the configured credentials, a refused message failing and a deferred one
retried later; two workers on one database (SQLite, PostgreSQL) never sending one message twice; the settings.
"""

from __future__ import annotations

import asyncio
import email
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from server_testkit import start_server, stop_server
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.db.store import Store
from server.db.tables import MailRow
from server.mail.outbox import RETRY_AFTER, MailOutbox, MailState
from server.mail.smtp import SmtpSender
from server.mail.worker import MailWorker
from server.runtime import Runtime
from server.settings import Settings, SettingsError

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
KEY = "mail-test-key"


class Inbox:
    """An aiosmtpd handler keeping each message as it arrived; `refuse` answers every recipient with that line."""

    def __init__(self, refuse: str | None = None) -> None:
        self.refuse = refuse
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[tuple[bytes, bytes]] = []
        self._arrived = threading.Condition()  # aiosmtpd runs its own event loop, in a thread of its own

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._arrived:
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)  # not handled: aiosmtpd answers 535

    def _wait(self, count: int, seconds: float) -> None:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout=seconds)

    async def wait_for(self, count: int, seconds: float = 30.0) -> list[EmailMessage]:
        """The messages once `count` have arrived (or `seconds` passed: the caller's assertion says what not)."""
        await asyncio.to_thread(self._wait, count, seconds)
        return self.messages


def smtp_server(inbox: Inbox, port: int, *, auth: bool = False) -> Controller:
    kwargs: dict[str, Any] = {"authenticator": inbox.authenticate, "auth_require_tls": False} if auth else {}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller


@pytest.fixture
def inbox(free_port: Callable[[], int]) -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), free_port()
    controller = smtp_server(box, port, auth=True)
    yield box, port
    controller.stop()


async def _server(data_dir: Path, port: int, **overrides: Any) -> Any:
    settings = Settings.from_env(
        {},
        api_key=KEY,
        port=port,
        data_dir=data_dir,
        voice=False,
        llm_backend="none",
        score_backend="none",
        plan_model="none",
        rate_limit_per_minute=100_000,
        **overrides,
    )
    return settings, await start_server(settings, Runtime(settings))


async def _call(base: str, method: str, path: str, body: Any = None, **params: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=60, headers={"Authorization": f"Bearer {KEY}"}) as c:
        return await c.request(method, path, json=body, params=params)


async def _invite(base: str, job: dict[str, Any], people: list[tuple[str, str]]) -> list[dict[str, Any]]:
    job_id = (await _call(base, "POST", "/v1/jobs", job)).json()["id"]
    ids = [(await _call(base, "POST", "/v1/candidates", {"name": n, "email": e})).json()["id"] for n, e in people]
    created = await _call(base, "POST", "/v1/invitations", {"job_id": job_id, "candidate_ids": ids})
    assert created.status_code == 201, created.text
    return list(created.json()["invitations"])


async def _settled(base: str, mail_id: str, seconds: float = 30.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        got: dict[str, Any] = (await _call(base, "GET", f"/v1/mail/{mail_id}")).json()
        if got["state"] != "pending" or got["attempts"] > 0 or loop.time() > deadline:
            return got
        await asyncio.sleep(0.05)


JOB_EN = {"title": "Night shift lead", "questions": [{"text": "How do you hand over a shift?"}]}
JOB_ZH = {"title": "仓库主管", "language": "zh", "questions": [{"text": "请介绍一次您负责的夜班。"}]}


async def test_invitations_are_sent_over_smtp_with_a_login_and_arrive_as_written(
    inbox: tuple[Inbox, int], free_port: Callable[[], int]
) -> None:
    box, smtp_port = inbox
    with tempfile.TemporaryDirectory(prefix="shanmian-mail-") as data:
        settings, running = await _server(
            Path(data),
            free_port(),
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_security="none",
            smtp_username="hr-relay",
            smtp_password="s3cret",
            mail_from="Acme Hiring <jobs@acme.example>",
        )
        base = f"http://127.0.0.1:{settings.port}"
        try:
            en = await _invite(base, JOB_EN, [("Ada Lovelace", "ada@candidates.example")])
            zh = await _invite(base, JOB_ZH, [("李伟", "li.wei@candidates.example")])
            arrived = await box.wait_for(2)
            sent = [await _settled(base, i["mail_id"]) for i in (*en, *zh)]
            held = (await _call(base, "GET", "/v1/mail", state="held")).json()
        finally:
            await stop_server(*running)

    assert box.logins == [(b"hr-relay", b"s3cret")] * 2
    assert len(arrived) == 2, "each invitation is sent once"
    by_to = {str(m["To"]): m for m in arrived}
    english = by_to["Ada Lovelace <ada@candidates.example>"]
    assert english["From"] == "Acme Hiring <jobs@acme.example>"
    assert english["Subject"] == "Invitation: your interview for Night shift lead"
    assert english["Message-ID"].endswith("@acme.example>")
    text = english.get_body(("plain",))
    assert text is not None and en[0]["link"] in text.get_content()
    chinese = by_to["李伟 <li.wei@candidates.example>"]
    assert chinese["Subject"] == "面试邀请：仓库主管"
    body = chinese.get_body(("plain",))
    assert body is not None and zh[0]["link"] in body.get_content() and "诚邀您参加仓库主管的面试" in body.get_content()
    assert sorted(e for _, (e,) in box.envelopes) == ["ada@candidates.example", "li.wei@candidates.example"]
    assert [s["state"] for s in sent] == ["sent", "sent"] and all(s["sent_at"] for s in sent)
    assert held == []


@pytest.mark.parametrize(
    ("answer", "state"),
    [("550 5.1.1 No such mailbox here", MailState.FAILED), ("451 4.3.0 Try again later", MailState.PENDING)],
    ids=["refused", "deferred"],
)
async def test_a_refused_message_fails_and_a_deferred_one_is_retried_later(
    free_port: Callable[[], int], answer: str, state: str
) -> None:
    smtp_port = free_port()
    controller = smtp_server(Inbox(refuse=answer), smtp_port)
    with tempfile.TemporaryDirectory(prefix="shanmian-mail-") as data:
        settings, running = await _server(
            Path(data), free_port(), smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_security="none"
        )
        base = f"http://127.0.0.1:{settings.port}"
        try:
            (inv,) = await _invite(base, JOB_EN, [("Bo", "bo@candidates.example")])
            settled = await _settled(base, inv["mail_id"])
            listed = (await _call(base, "GET", "/v1/mail", state=state)).json()
        finally:
            await stop_server(*running)
            controller.stop()

    assert settled["state"] == state and settled["attempts"] == 1
    assert answer.split()[0] in settled["last_error"] and settled["sent_at"] is None
    assert [m["id"] for m in listed] == [inv["mail_id"]]


# --- two workers on one database ----------------------------------------------------------------------------------


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return f"sqlite:///{tmp_path / 'mail.db'}"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    url = database_url
    opened = await Store.open(Settings.from_env({}, api_key="k", database_url=url).sqlalchemy_url)
    async with opened.engine.begin() as conn:
        await conn.execute(delete(MailRow))
    yield opened
    await opened.close()


def _message(n: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "HR <hr@acme.example>"
    message["To"] = f"Candidate {n} <c{n}@candidates.example>"
    message["Subject"] = f"Message {n}"
    message.set_content(f"Hello {n}")
    return message


async def test_two_workers_on_one_database_send_each_message_once(
    store: Store, inbox: tuple[Inbox, int], free_port: Callable[[], int]
) -> None:
    box, smtp_port = inbox
    settings = Settings.from_env(
        {},
        api_key="k",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        smtp_username="hr-relay",
        smtp_password="s3cret",
    )
    outbox = MailOutbox(store.engine, vault=store.vault, sending=True)
    async with async_sessionmaker(store.engine)() as s, s.begin():
        for n in range(12):
            assert await outbox.add(s, f"ml_{uuid.uuid4().hex[:12]}", f"test:{n}", "test", _message(n))
        assert not await outbox.add(s, "ml_again", "test:0", "test", _message(0)), "one message per dedup key"
    workers = [
        MailWorker(MailOutbox(store.engine, vault=store.vault, sending=True), SmtpSender(settings)) for _ in range(2)
    ]

    tried = 0
    for _ in range(4):  # each round claims at most a batch, so rounds until all are gone (and one more)
        tried += sum(await asyncio.gather(*(w.run_once() for w in workers)))

    assert tried == 12
    arrived = await box.wait_for(12)
    assert sorted(str(m["Subject"]) for m in arrived) == sorted(f"Message {n}" for n in range(12))
    assert {r.state for r in await outbox.messages()} == {MailState.SENT}


async def test_a_deferred_message_waits_for_its_retry_and_fails_once_the_retries_are_spent(
    store: Store, free_port: Callable[[], int]
) -> None:
    smtp_port = free_port()
    controller = smtp_server(Inbox(refuse="421 4.7.0 Busy"), smtp_port)
    now = [datetime.now(UTC)]
    outbox = MailOutbox(store.engine, vault=store.vault, sending=True, clock=lambda: now[0])
    settings = Settings.from_env({}, api_key="k", smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_security="none")
    worker = MailWorker(outbox, SmtpSender(settings))
    try:
        async with async_sessionmaker(store.engine)() as s, s.begin():
            await outbox.add(s, "ml_retry", "test:retry", "test", _message(1))
        for wait in RETRY_AFTER:
            assert await worker.run_once() == 1
            now[0] += wait - timedelta(seconds=1)
            assert await worker.run_once() == 0, "not before its retry is due"
            now[0] += timedelta(seconds=1)
        assert await worker.run_once() == 1
    finally:
        controller.stop()
    (row,) = await outbox.messages()
    assert row.state == MailState.FAILED and row.attempts == len(RETRY_AFTER) + 1 and "421" in (row.last_error or "")


# --- settings -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SHANMIAN_SMTP_SECURITY": "ssl3"}, "SHANMIAN_SMTP_SECURITY"),
        ({"SHANMIAN_SMTP_PORT": "0"}, "SHANMIAN_SMTP_PORT"),
        ({"SHANMIAN_SMTP_PORT": "twenty-five"}, "SHANMIAN_SMTP_PORT"),
        ({"SHANMIAN_SMTP_TIMEOUT_S": "0"}, "SHANMIAN_SMTP_TIMEOUT_S"),
        ({"SHANMIAN_MAIL_FROM": "Acme Hiring"}, "SHANMIAN_MAIL_FROM"),
        ({"SHANMIAN_INVITATION_EXPIRY_DAYS": "0"}, "SHANMIAN_INVITATION_EXPIRY_DAYS"),
        ({"SHANMIAN_INVITATION_EXPIRY_DAYS": "366"}, "SHANMIAN_INVITATION_EXPIRY_DAYS"),
    ],
)
def test_bad_mail_and_invitation_settings_are_refused_by_name(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env, api_key="k")


def test_the_mail_and_invitation_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "SHANMIAN_SMTP_HOST": "smtp.acme.example",
            "SHANMIAN_SMTP_PORT": "465",
            "SHANMIAN_SMTP_SECURITY": "tls",
            "SHANMIAN_MAIL_FROM": "Acme <jobs@acme.example>",
            "SHANMIAN_INVITATION_EXPIRY_DAYS": "30",
        },
        api_key="k",
    )
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_security) == ("smtp.acme.example", 465, "tls")
    assert settings.mail_from == "Acme <jobs@acme.example>" and settings.invitation_expiry_days == 30
    defaults = Settings.from_env({}, api_key="k")
    assert defaults.smtp_host == "" and defaults.invitation_expiry_days == 14
