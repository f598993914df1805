"""Durable reminders on a real server, on SQLite and a real PostgreSQL: planned as rows when a booking is made,
re-planned on reschedule, dropped on cancel, sent at most once (two workers racing send one), none once the interview
has started; a worker on a fake clock walks a booking's schedule across a real restart (a new server on the same
database), and a restarted server's own worker sends a pending reminder over SMTP to a real aiosmtpd server once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from hr_testkit import job_body
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from test_server_reviews import Inbox
from workflow_testkit import DATABASES, WorkflowServer, workflow_server

from hr.calendar_invite import Person
from server.db.booking import Letterhead
from server.db.status import InterviewStatus
from server.db.tables import MailRow, ReminderRow
from server.mail.outbox import MailOutbox
from server.reminders.worker import ReminderWorker
from server.settings import Settings, SettingsError

EVENTS = ["interview.scheduled"]
ALL_DAY = {"time_zone": "UTC", "weekly": [{"weekday": d, "start": "00:00", "end": "23:00"} for d in range(7)]}


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Booked:
    interview_id: str
    token: str
    email: str
    start: datetime


@dataclass
class Env(WorkflowServer):
    async def book(self, slot_index: int = 40, at: datetime | None = None) -> Booked:
        """A candidate of a new job booked into the job's `slot_index`-th hourly slot from now, or the one at `at`."""
        created = await self.call("POST", "/v1/jobs", job_body())
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        body = {**ALL_DAY, "slot_minutes": 60, "min_notice_minutes": 0, "horizon_days": 3}
        assert (await self.call("PUT", f"/v1/jobs/{job_id}/availability", body)).status_code == 200
        address = f"c{uuid.uuid4().hex[:10]}@candidates.example"
        c = await self.call("POST", "/v1/candidates", {"name": "Li Lei", "email": address})
        iv = await self.call("POST", "/v1/interviews", {"job_id": job_id, "candidate_id": c.json()["id"]})
        who = Booked(iv.json()["id"], iv.json()["candidate_token"], address, datetime.now(UTC))
        slots = (await self.booking("GET", who, "/slots")).json()["slots"]
        start = next(s["start"] for s in slots if _at(s["start"]) == at) if at else slots[slot_index]["start"]
        booked = await self.booking("POST", who, body={"start": start})
        assert booked.status_code == 201, booked.text
        who.start = _at(start)
        return who

    async def booking(self, method: str, who: Booked, path: str = "", body: Any = None) -> httpx.Response:
        return await self.call(
            method, f"/v1/interviews/{who.interview_id}/booking{path}", body, hr=False, token=who.token
        )

    def worker(self, clock: FakeClock) -> ReminderWorker:
        """A reminder worker on this server's database, on `clock`; what it queues, the server's SMTP worker sends."""
        letterhead = Letterhead(Person("interviews@localhost", "Shanmian"), "localhost", self.base)
        return ReminderWorker(
            self.store, MailOutbox(self.store.engine, vault=self.store.vault, sending=True), letterhead, clock=clock
        )

    async def reminders(self, who: Booked) -> list[ReminderRow]:
        query = select(ReminderRow).where(ReminderRow.interview_id == who.interview_id).order_by(ReminderRow.due_at)
        async with AsyncSession(self.store.engine) as s:
            return list((await s.scalars(query)).all())

    async def reminder_mail(self, who: Booked) -> list[str]:
        """The subjects of the reminder e-mails queued for `who`."""
        async with self.store.engine.connect() as conn:
            query = select(MailRow.subject).where(MailRow.kind == "reminder", MailRow.to_address.contains(who.email))
            return list((await conn.scalars(query.order_by(MailRow.created_at))).all())


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database that outlives one server: a SQLite file of the test's own, or the session's PostgreSQL."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return f"sqlite:///{tmp_path / 'shanmian.db'}"


@pytest.fixture
async def smtp(free_port: Callable[[], int]) -> AsyncIterator[tuple[Inbox, dict[str, Any]]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    finally:
        controller.stop()


@pytest.fixture
async def env(database_url: str, free_port: Callable[[], int]) -> AsyncIterator[Env]:
    async with workflow_server(Env, database_url, free_port(), EVENTS) as made:
        yield made


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_a_booking_plans_its_reminders_as_rows_a_reschedule_replans_and_a_cancel_drops_them(env: Env) -> None:
    who = await env.book(slot_index=40)
    planned = await env.reminders(who)
    assert [(r.state, r.due_at) for r in planned] == [
        ("pending", who.start - timedelta(hours=24)),
        ("pending", who.start - timedelta(hours=1)),
    ]

    slots = (await env.booking("GET", who, "/slots")).json()["slots"]
    later = _at(slots[45]["start"])
    assert (await env.booking("PUT", who, body={"start": later.isoformat()})).status_code == 200
    rows = await env.reminders(who)
    assert sorted((r.state, r.due_at) for r in rows) == sorted(
        [
            ("dropped", who.start - timedelta(hours=24)),
            ("dropped", who.start - timedelta(hours=1)),
            ("pending", later - timedelta(hours=24)),
            ("pending", later - timedelta(hours=1)),
        ]
    )
    # Due by the old time, nothing goes out: those rows were dropped (and the new ones are not due yet).
    await env.worker(FakeClock(who.start - timedelta(hours=24) + timedelta(minutes=1))).run_once()
    assert await env.reminder_mail(who) == []

    assert (await env.booking("POST", who, "/cancel")).status_code == 200
    assert {r.state for r in await env.reminders(who)} == {"dropped"}
    await env.worker(FakeClock(later - timedelta(minutes=30))).run_once()
    assert await env.reminder_mail(who) == []


async def test_no_reminder_goes_out_once_the_interview_has_started(env: Env) -> None:
    who = await env.book()
    await env.store.set_status(who.interview_id, InterviewStatus.LIVE)
    await env.worker(FakeClock(who.start - timedelta(minutes=59))).run_once()
    assert {r.state for r in await env.reminders(who)} == {"dropped"}
    assert await env.reminder_mail(who) == []


async def test_after_downtime_only_the_latest_due_reminder_goes_out(env: Env) -> None:
    who = await env.book()
    await env.worker(FakeClock(who.start - timedelta(minutes=30))).run_once()
    assert [r.state for r in await env.reminders(who)] == ["skipped", "sent"]
    assert await env.reminder_mail(who) == [
        "Reminder: your interview for Data engineer is in 1 hour (" + _when(who) + ")"
    ]


async def test_two_workers_racing_for_a_due_reminder_send_it_once(env: Env) -> None:
    who = await env.book()
    clock = FakeClock(who.start - timedelta(hours=24) + timedelta(minutes=1))
    await asyncio.gather(*(env.worker(clock).run_once() for _ in range(4)))
    assert [r.state for r in await env.reminders(who)] == ["sent", "pending"]
    assert len(await env.reminder_mail(who)) == 1


def _when(who: Booked) -> str:
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    s = who.start
    return f"{days[s.weekday()]} {s.day} {months[s.month - 1]} {s.year}, {s:%H:%M} (UTC)"


async def test_a_fake_clock_walks_the_schedule_across_a_restart_and_each_reminder_arrives_once(
    database_url: str, free_port: Callable[[], int], smtp: tuple[Inbox, dict[str, Any]]
) -> None:
    inbox, mail = smtp
    async with workflow_server(Env, database_url, free_port(), EVENTS, **mail) as first:
        who = await first.book()
        await first.worker(FakeClock(who.start - timedelta(hours=25))).run_once()
        assert [r.state for r in await first.reminders(who)] == ["pending", "pending"]
        day_before = FakeClock(who.start - timedelta(hours=24) + timedelta(minutes=1))
        await first.worker(day_before).run_once()
        await first.worker(day_before).run_once()
        assert [r.state for r in await first.reminders(who)] == ["sent", "pending"]
        await _arrived(inbox, who.email, 2)  # the booking's e-mail, then the reminder
    # Stopped mid-schedule: the hour-before reminder is a pending row, and a new server takes it from there.
    async with workflow_server(Env, database_url, free_port(), EVENTS, **mail) as second:
        await second.worker(day_before).run_once()
        assert [r.state for r in await second.reminders(who)] == ["sent", "pending"]
        hour_before = FakeClock(who.start - timedelta(minutes=59))
        await second.worker(hour_before).run_once()
        await second.worker(hour_before).run_once()
        assert [r.state for r in await second.reminders(who)] == ["sent", "sent"]
        assert len(await second.reminder_mail(who)) == 2
        await _arrived(inbox, who.email, 3)
    subjects = [str(m["Subject"]) for m in inbox.to(who.email) if "Reminder" in str(m["Subject"])]
    assert [s.split(" (")[0] for s in subjects] == [
        "Reminder: your interview for Data engineer is in 24 hours",
        "Reminder: your interview for Data engineer is in 1 hour",
    ]
    body = inbox.to(who.email)[-1].get_body(("plain",))
    assert body is not None and f"/join/{who.interview_id}?token={who.token}" in body.get_content()


async def test_a_restarted_servers_own_worker_sends_the_pending_reminder_once(
    database_url: str, free_port: Callable[[], int], smtp: tuple[Inbox, dict[str, Any]]
) -> None:
    inbox, mail = smtp
    # The second hourly slot from now (min notice 0); a reminder offset that makes it due a few seconds from now.
    now = datetime.now(UTC)
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    if start.hour == 23:  # ALL_DAY's windows end at 23:00 (the API's last time of day is 23:59): no slot then
        start += timedelta(hours=1)
    lead = int((start - now).total_seconds()) - 8
    settings = {**mail, "reminder_offsets": f"{lead}s", "reminder_poll_s": 0.5}
    async with workflow_server(Env, database_url, free_port(), EVENTS, **settings) as first:
        who = await first.book(at=start)
        assert who.start == start
        [planned] = await first.reminders(who)
        assert planned.state == "pending" and planned.due_at > datetime.now(UTC)
    async with workflow_server(Env, database_url, free_port(), EVENTS, **settings) as second:
        await _arrived(inbox, who.email, 2, seconds=40)  # the booking's e-mail, then the reminder
        await asyncio.sleep(2)  # more polls of the reminder table: nothing more may come
        [sent] = await second.reminders(who)
        assert sent.state == "sent"
    reminders = [m for m in inbox.to(who.email) if "Reminder" in str(m["Subject"])]
    assert len(reminders) == 1


async def _arrived(inbox: Inbox, address: str, count: int, seconds: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while len(inbox.to(address)) < count:
        assert loop.time() < deadline, [str(m["Subject"]) for m in inbox.to(address)]
        await asyncio.sleep(0.2)


def test_reminder_offsets_are_read_from_the_setting_and_a_malformed_one_is_refused() -> None:
    settings = Settings.from_env({"SHANMIAN_REMINDER_OFFSETS": "1h, 24h,30m"}, api_key="k")
    assert settings.reminder_offset_list == (timedelta(hours=24), timedelta(hours=1), timedelta(minutes=30))
    assert Settings.from_env({}, api_key="k").reminder_offset_list == (timedelta(hours=24), timedelta(hours=1))
    with pytest.raises(SettingsError, match="SHANMIAN_REMINDER_OFFSETS"):
        Settings.from_env({"SHANMIAN_REMINDER_OFFSETS": "a day before"}, api_key="k")
