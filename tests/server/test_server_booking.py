"""Self-scheduling on a real server, on SQLite and a real PostgreSQL: HR sets a job's availability over REST; the
candidate, with their interview's token, lists slots in their own zone, books, reschedules and cancels; each change
sets `scheduled_at`, sends a signed webhook (verified with standardwebhooks) and queues an e-mail whose calendar
invitation is parsed back with icalendar; 50 concurrent bookings of a one-seat slot give one booking and 49 clear
409s; and every refusal, one test each.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hr_testkit import job_body
from icalendar import Calendar
from sqlalchemy import func, select
from workflow_testkit import DATABASES, WorkflowServer, workflow_server

from server.db.status import InterviewStatus
from server.db.tables import BookingRow, InterviewRow, ReminderRow, SeatRow
from server.mail.outbox import parse_message

EVENTS = ["interview.scheduled", "interview.rescheduled", "interview.cancelled"]
ALL_DAY = {"time_zone": "Asia/Shanghai", "weekly": [{"weekday": d, "start": "00:00", "end": "23:00"} for d in range(7)]}


@dataclass
class Candidate:
    interview_id: str
    token: str
    email: str


@dataclass
class Env(WorkflowServer):
    async def job(self, **availability: Any) -> str:
        created = await self.call("POST", "/v1/jobs", job_body())
        assert created.status_code == 201, created.text
        job_id = str(created.json()["id"])
        body = {**ALL_DAY, "slot_minutes": 60, "min_notice_minutes": 0, "horizon_days": 3} | availability
        put = await self.call("PUT", f"/v1/jobs/{job_id}/availability", body)
        assert put.status_code == 200, put.text
        return job_id

    async def candidate(self, job_id: str) -> Candidate:
        address = f"c{uuid.uuid4().hex[:10]}@candidates.example"
        c = await self.call("POST", "/v1/candidates", {"name": "Wang Fang", "email": address})
        assert c.status_code == 201, c.text
        iv = await self.call("POST", "/v1/interviews", {"job_id": job_id, "candidate_id": c.json()["id"]})
        assert iv.status_code == 201, iv.text
        return Candidate(iv.json()["id"], iv.json()["candidate_token"], address)

    async def as_candidate(
        self, method: str, who: Candidate, path: str = "", body: Any = None, **params: str
    ) -> httpx.Response:
        return await self.call(
            method, f"/v1/interviews/{who.interview_id}/booking{path}", body, hr=False, token=who.token, **params
        )

    async def slots(self, who: Candidate, tz: str = "Asia/Shanghai") -> list[dict[str, Any]]:
        listed = await self.as_candidate("GET", who, "/slots", tz=tz)
        assert listed.status_code == 200, listed.text
        return list(listed.json()["slots"])

    async def invites(self, who: Candidate) -> list[Calendar]:
        """The calendar invitations e-mailed to `who`, oldest first, parsed back with icalendar."""
        listed = await self.call("GET", "/v1/mail", limit="1000")
        assert listed.status_code == 200, listed.text
        mine = sorted((m for m in listed.json() if who.email in m["to"]), key=lambda m: m["created_at"])
        found = []
        for m in mine:
            full = await self.call("GET", f"/v1/mail/{m['id']}")
            message = parse_message(full.json()["message"])
            for part in message.walk():
                if part.get_content_type() == "text/calendar":
                    payload = part.get_payload(decode=True)
                    assert isinstance(payload, bytes)
                    found.append(Calendar.from_ical(payload))
        return found

    async def scheduled_at(self, who: Candidate) -> str | None:
        got = await self.call("GET", f"/v1/interviews/{who.interview_id}")
        assert got.status_code == 200, got.text
        return got.json()["scheduled_at"]


@pytest.fixture(scope="module", params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue("postgres_database")) if request.param == "postgres" else None


@pytest.fixture(scope="module")
async def env(database_url: str | None, free_port: Callable[[], int]) -> AsyncIterator[Env]:
    async with workflow_server(Env, database_url, free_port(), EVENTS) as made:
        yield made


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _event(calendar: Calendar) -> Any:
    return next(iter(calendar.walk("VEVENT")))


async def test_seats_default_to_the_session_capacity_and_slots_show_in_the_candidates_zone(env: Env) -> None:
    job_id = await env.job(weekly=[{"weekday": d, "start": "09:00", "end": "11:00"} for d in range(7)])
    got = await env.call("GET", f"/v1/jobs/{job_id}/availability")
    assert got.json()["seats"] == 4  # SHANMIAN_SESSION_CAPACITY's default

    who = await env.candidate(job_id)
    slots = await env.slots(who, tz="America/New_York")
    assert slots
    for slot in slots:
        start = _at(slot["start"])
        # 09:00 and 10:00 in Shanghai (UTC+8 all year) are 01:00 and 02:00 UTC.
        assert (start.hour, start.minute) in ((1, 0), (2, 0))
        local = datetime.fromisoformat(slot["local_start"])
        assert local == start
        assert local.utcoffset() in (timedelta(hours=-5), timedelta(hours=-4))
        assert slot["seats_left"] == 4


async def test_new_york_slots_keep_their_wall_time_across_the_dst_changes_and_shift_in_utc(env: Env) -> None:
    # A year's horizon always spans both US changes: 09:00 in New York is 14:00 UTC in winter, 13:00 in summer.
    weekly = [{"weekday": 2, "start": "09:00", "end": "10:00"}]
    job_id = await env.job(time_zone="America/New_York", weekly=weekly, horizon_days=365)
    slots = await env.slots(await env.candidate(job_id), tz="America/New_York")
    assert len(slots) >= 51
    hours = set()
    for slot in slots:
        start, local = _at(slot["start"]), datetime.fromisoformat(slot["local_start"])
        assert (local.hour, local.minute, local.weekday()) == (9, 0, 2)
        assert start.hour == (14 if local.utcoffset() == timedelta(hours=-5) else 13)
        hours.add(start.hour)
    assert hours == {13, 14}


async def test_booking_rescheduling_and_cancelling_set_the_time_send_events_and_calendar_invitations(
    env: Env,
) -> None:
    job_id = await env.job()
    who = await env.candidate(job_id)
    first, second = (await env.slots(who))[2:4]

    booked = await env.as_candidate("POST", who, body={"start": first["start"], "time_zone": "Europe/Berlin"})
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert booking["status"] == "confirmed" and booking["revision"] == 0 and booking["time_zone"] == "Europe/Berlin"
    assert _at(str(await env.scheduled_at(who))) == _at(first["start"])
    [scheduled] = await env.wait_events("interview.scheduled", who.interview_id, 1)
    assert scheduled["data"]["booking_id"] == booking["id"]
    assert _at(scheduled["data"]["starts_at"]) == _at(first["start"])

    moved = await env.as_candidate("PUT", who, body={"start": second["start"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["revision"] == 1
    assert _at(str(await env.scheduled_at(who))) == _at(second["start"])
    [rescheduled] = await env.wait_events("interview.rescheduled", who.interview_id, 1)
    assert _at(rescheduled["data"]["previous_starts_at"]) == _at(first["start"])
    assert _at(rescheduled["data"]["starts_at"]) == _at(second["start"])

    cancelled = await env.as_candidate("POST", who, "/cancel", {"reason": "found another job"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert await env.scheduled_at(who) is None
    [gone] = await env.wait_events("interview.cancelled", who.interview_id, 1)
    assert gone["data"]["reason"] == "found another job" and gone["data"]["cancelled_by"] == "candidate"

    invites = await env.invites(who)
    assert [str(c["method"]) for c in invites] == ["REQUEST", "REQUEST", "CANCEL"]
    events = [_event(c) for c in invites]
    assert {str(e["uid"]) for e in events} == {f"{booking['id']}@localhost"}
    assert [int(e["sequence"]) for e in events] == [0, 1, 2]
    assert events[0].decoded("dtstart") == _at(first["start"])
    assert events[1].decoded("dtstart") == _at(second["start"])
    assert [len(e.walk("VALARM")) for e in events] == [1, 1, 0]

    # The seat is free again: the slot offers as many seats as before the booking.
    assert {s["start"]: s["seats_left"] for s in await env.slots(who)}[second["start"]] == 4


async def test_fifty_concurrent_bookings_of_a_one_seat_slot_give_one_booking_and_49_conflicts(env: Env) -> None:
    job_id = await env.job(seats=1)
    candidates = [await env.candidate(job_id) for _ in range(50)]
    start = (await env.slots(candidates[0]))[1]["start"]

    answers = await asyncio.gather(*(env.as_candidate("POST", c, body={"start": start}) for c in candidates))

    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 49, [a.text for a in answers if a.status_code not in (201, 409)]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"slot_full"}
    async with env.store.engine.connect() as conn:
        seats = await conn.scalar(select(func.count()).select_from(SeatRow).where(SeatRow.job_id == job_id))
    assert seats == 1
    assert start not in {s["start"] for s in await env.slots(candidates[0])}


async def test_a_hold_keeps_the_seat_from_others_until_its_holder_books(env: Env) -> None:
    job_id = await env.job(seats=1)
    holder, other = await env.candidate(job_id), await env.candidate(job_id)
    start = (await env.slots(holder))[1]["start"]

    held = await env.as_candidate("POST", holder, "/hold", {"start": start})
    assert held.status_code == 201, held.text
    assert _at(held.json()["hold_until"]) - datetime.now(UTC) > timedelta(minutes=9)
    refused = await env.as_candidate("POST", other, body={"start": start})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "slot_full"
    booked = await env.as_candidate("POST", holder, body={"start": start})
    assert booked.status_code == 201, booked.text


async def test_booking_inside_the_notice_window_is_422_with_a_message(env: Env) -> None:
    job_id = await env.job(min_notice_minutes=24 * 60, horizon_days=5)
    who = await env.candidate(job_id)
    soon = (datetime.now(UTC) + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    refused = await env.as_candidate("POST", who, body={"start": soon.isoformat()})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "too_soon"
    assert "24 hours ahead" in refused.json()["error"]["message"]


async def test_booking_past_the_horizon_is_422_with_the_last_bookable_time(env: Env) -> None:
    job_id = await env.job(horizon_days=2)
    who = await env.candidate(job_id)
    late = (datetime.now(UTC) + timedelta(days=4)).replace(minute=0, second=0, microsecond=0)
    refused = await env.as_candidate("POST", who, body={"start": late.isoformat()})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "beyond_horizon"
    assert "can be booked up to" in refused.json()["error"]["message"]


async def test_a_time_that_is_no_slot_is_422_not_offered(env: Env) -> None:
    job_id = await env.job()
    who = await env.candidate(job_id)
    start = _at((await env.slots(who))[1]["start"]) + timedelta(minutes=17)
    refused = await env.as_candidate("POST", who, body={"start": start.isoformat()})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "not_offered"


async def test_an_unknown_time_zone_is_422(env: Env) -> None:
    job_id = await env.job()
    put = await env.call("PUT", f"/v1/jobs/{job_id}/availability", {**ALL_DAY, "time_zone": "Mars/Olympus_Mons"})
    assert put.status_code == 422 and put.json()["error"]["code"] == "unknown_time_zone"
    assert "Mars/Olympus_Mons" in put.json()["error"]["message"]


async def test_an_unknown_zone_asked_for_by_the_candidate_is_422(env: Env) -> None:
    who = await env.candidate(await env.job())
    listed = await env.as_candidate("GET", who, "/slots", tz="Nowhere/Town")
    assert listed.status_code == 422 and listed.json()["error"]["code"] == "unknown_time_zone"


async def test_a_rule_whose_window_ends_where_it_starts_is_422_bad_rule(env: Env) -> None:
    job_id = await env.job()
    body = {"time_zone": "UTC", "weekly": [{"weekday": 2, "start": "10:00", "end": "10:00"}]}
    put = await env.call("PUT", f"/v1/jobs/{job_id}/availability", body)
    assert put.status_code == 422 and put.json()["error"]["code"] == "bad_rule"
    assert "weekday 2" in put.json()["error"]["message"]


async def test_a_rule_with_no_time_of_day_is_422_bad_rule(env: Env) -> None:
    job_id = await env.job()
    body = {"time_zone": "UTC", "weekly": [{"weekday": 2, "start": "25:00", "end": "26:00"}]}
    put = await env.call("PUT", f"/v1/jobs/{job_id}/availability", body)
    assert put.status_code == 422 and put.json()["error"]["code"] == "bad_rule"


async def test_a_deadline_in_the_past_is_422(env: Env) -> None:
    job_id = await env.job()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    put = await env.call("PUT", f"/v1/jobs/{job_id}/availability", {"time_zone": "UTC", "start_before": past})
    assert put.status_code == 422 and put.json()["error"]["code"] == "past_deadline"


async def test_a_wrong_token_is_401(env: Env) -> None:
    who = await env.candidate(await env.job())
    start = (await env.slots(who))[1]["start"]
    forged = Candidate(who.interview_id, "not-" + who.token, who.email)
    for method, path, body in (
        ("GET", "/slots", None),
        ("POST", "", {"start": start}),
        ("PUT", "", {"start": start}),
        ("POST", "/cancel", None),
    ):
        refused = await env.as_candidate(method, forged, path, body)
        assert refused.status_code == 401, (method, path, refused.text)


async def test_booking_a_finished_interview_is_409(env: Env) -> None:
    who = await env.candidate(await env.job())
    start = (await env.slots(who))[1]["start"]
    await env.store.set_status(who.interview_id, InterviewStatus.LIVE)
    await env.store.set_status(who.interview_id, InterviewStatus.COMPLETED, reason="completed")
    refused = await env.as_candidate("POST", who, body={"start": start})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "interview_not_bookable"
    assert "completed" in refused.json()["error"]["message"]


async def test_rescheduling_a_cancelled_booking_is_409(env: Env) -> None:
    who = await env.candidate(await env.job())
    first, second = (await env.slots(who))[1:3]
    assert (await env.as_candidate("POST", who, body={"start": first["start"]})).status_code == 201
    assert (await env.as_candidate("POST", who, "/cancel")).status_code == 200
    refused = await env.as_candidate("PUT", who, body={"start": second["start"]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "booking_cancelled"
    # A new booking is still possible.
    assert (await env.as_candidate("POST", who, body={"start": second["start"]})).status_code == 201


async def test_booking_twice_is_409_already_booked(env: Env) -> None:
    who = await env.candidate(await env.job())
    first, second = (await env.slots(who))[1:3]
    assert (await env.as_candidate("POST", who, body={"start": first["start"]})).status_code == 201
    again = await env.as_candidate("POST", who, body={"start": second["start"]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_booked"


async def test_the_any_time_before_mode_offers_no_slots_and_starts_at_once_while_a_seat_is_free(env: Env) -> None:
    deadline = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    # Seats count every live session the database holds: other tests' on a shared PostgreSQL too.
    async with env.store.engine.connect() as conn:
        live = await conn.scalar(select(func.count()).where(InterviewRow.status == InterviewStatus.LIVE))
    seats = int(live or 0) + 1
    job_id = await env.job(start_before=deadline.isoformat(), seats=seats)
    who = await env.candidate(job_id)

    listed = await env.as_candidate("GET", who, "/slots")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["mode"] == "start_before" and body["slots"] == [] and body["can_start_now"] is True
    assert _at(body["start_before"]) == deadline
    started = await env.as_candidate("POST", who, "/start")
    assert started.status_code == 200, started.text
    assert started.json()["join_url"].endswith(f"/join/{who.interview_id}?token={who.token}")

    slot = (datetime.now(UTC) + timedelta(hours=5)).replace(minute=0, second=0, microsecond=0)
    refused = await env.as_candidate("POST", who, body={"start": slot.isoformat()})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "not_offered"

    # Its last seat taken by a live session, the next candidate is told to come back.
    busy = await env.candidate(job_id)
    await env.store.set_status(busy.interview_id, InterviewStatus.LIVE)
    full = await env.as_candidate("POST", who, "/start")
    assert full.status_code == 409 and full.json()["error"]["code"] == "no_seat_now"
    await env.store.set_status(busy.interview_id, InterviewStatus.COMPLETED, reason="completed")


async def test_erasing_a_candidate_erases_their_booking_seat_and_reminders(env: Env) -> None:
    job_id = await env.job(seats=1)
    who = await env.candidate(job_id)
    start = (await env.slots(who))[40]["start"]
    assert (await env.as_candidate("POST", who, body={"start": start})).status_code == 201
    candidate_id = (await env.call("GET", f"/v1/interviews/{who.interview_id}")).json()["candidate_id"]

    erased = await env.call("POST", f"/v1/candidates/{candidate_id}/erase")
    assert erased.status_code == 200, erased.text
    async with env.store.engine.connect() as conn:
        for table in (SeatRow, BookingRow, ReminderRow):
            left = await conn.scalar(
                select(func.count()).select_from(table).where(table.interview_id == who.interview_id)
            )
            assert left == 0, table.__tablename__
    # Its seat is free for the next candidate.
    other = await env.candidate(job_id)
    assert (await env.as_candidate("POST", other, body={"start": start})).status_code == 201
