"""Reminder decisions over a fake clock: planned at T-24 h and T-1 h, re-planned, dropped, never twice, never late."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hr.reminders import DEFAULT_OFFSETS, Reminder, due, next_due_at, plan
from hr.scheduling import Booking, BookingStatus, Slot

START = datetime(2027, 3, 14, 13, tzinfo=UTC)
BOOKED = START - timedelta(days=3)
HOUR = timedelta(hours=1)


def booking(
    start: datetime = START,
    changed_at: datetime = BOOKED,
    status: BookingStatus = BookingStatus.CONFIRMED,
    revision: int = 0,
) -> Booking:
    return Booking("bk_1", "cand_1", Slot(start, start + timedelta(minutes=30)), "UTC", status, revision, changed_at)


@dataclass
class Worker:
    """A reminder worker ticking once a minute on a fake clock, recording what it sent and when."""

    now: datetime
    done: set[str] = field(default_factory=set)
    sent: list[tuple[datetime, Reminder]] = field(default_factory=list)

    def run_until(self, until: datetime, current: Booking, started: bool = False) -> None:
        while self.now < until:
            decision = due(current, self.now, self.done, started=started)
            self.sent += [(self.now, r) for r in decision.send]
            self.done |= {r.key for r in decision.send + decision.skip}
            self.now += timedelta(minutes=1)


def test_the_default_plan_is_a_day_and_an_hour_before() -> None:
    assert (timedelta(hours=24), HOUR) == DEFAULT_OFFSETS
    assert [r.due_at for r in plan(booking())] == [START - 24 * HOUR, START - HOUR]


def test_a_worker_sends_each_reminder_once_at_its_moment() -> None:
    worker = Worker(now=BOOKED)
    worker.run_until(START + HOUR, booking())
    assert [(at, r.offset) for at, r in worker.sent] == [(START - 24 * HOUR, 24 * HOUR), (START - HOUR, HOUR)]


def test_asking_twice_at_the_same_moment_sends_once() -> None:
    now = START - HOUR
    first = due(booking(), now, set(), started=False)
    second = due(booking(), now, {r.key for r in first.send}, started=False)
    assert len(first.send) == 1 and second.send == ()


def test_a_reschedule_replans_both_reminders_for_the_new_time() -> None:
    worker = Worker(now=BOOKED)
    worker.run_until(START - 2 * HOUR, booking())  # the day-before reminder has gone out
    moved_to = START + timedelta(days=2)
    moved = booking(start=moved_to, changed_at=worker.now, revision=1)

    worker.run_until(moved_to + HOUR, moved)

    assert [(at, r.starts_at) for at, r in worker.sent] == [
        (START - 24 * HOUR, START),
        (moved_to - 24 * HOUR, moved_to),
        (moved_to - HOUR, moved_to),
    ]


def test_a_cancelled_booking_sends_nothing_more() -> None:
    worker = Worker(now=BOOKED)
    worker.run_until(START - 2 * HOUR, booking())
    cancelled = booking(status=BookingStatus.CANCELLED, revision=1, changed_at=worker.now)
    worker.run_until(START + HOUR, cancelled)
    assert [r.offset for _, r in worker.sent] == [24 * HOUR]
    assert plan(cancelled) == () and next_due_at(cancelled, set()) is None


def test_nothing_is_sent_once_the_interview_started_even_early() -> None:
    worker = Worker(now=START - 2 * HOUR, done={r.key for r in plan(booking())[:1]})
    worker.run_until(START, booking(), started=True)
    assert worker.sent == []


def test_nothing_is_sent_at_or_after_the_start_even_if_a_reminder_was_missed() -> None:
    assert due(booking(), START, set(), started=False).send == ()
    assert due(booking(), START + timedelta(minutes=5), set(), started=False).send == ()


def test_a_booking_made_five_hours_ahead_gets_only_the_one_hour_reminder() -> None:
    late = booking(changed_at=START - 5 * HOUR)
    worker = Worker(now=late.changed_at)
    worker.run_until(START, late)
    assert [r.offset for _, r in worker.sent] == [HOUR]


def test_after_downtime_only_the_latest_due_reminder_is_sent_and_the_older_is_skipped() -> None:
    decision = due(booking(), START - timedelta(minutes=30), set(), started=False)
    assert [r.offset for r in decision.send] == [HOUR]
    assert [r.offset for r in decision.skip] == [24 * HOUR]


def test_configured_offsets_are_planned_in_time_order() -> None:
    offsets = (timedelta(minutes=10), timedelta(hours=48), timedelta(hours=3))
    assert [r.offset for r in plan(booking(), offsets)] == [
        timedelta(hours=48),
        timedelta(hours=3),
        timedelta(minutes=10),
    ]


def test_next_due_at_says_when_the_worker_should_wake() -> None:
    first, second = plan(booking())
    assert next_due_at(booking(), set()) == first.due_at
    assert next_due_at(booking(), {first.key}) == second.due_at
    assert next_due_at(booking(), {first.key, second.key}) is None
