"""Slots land on the right UTC instants across DST and in Asia/Shanghai; the seat ledger never overbooks."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import pytest

from hr.scheduling import (
    HOLD_FOR,
    AlreadyBookedError,
    Availability,
    AvailabilityError,
    BeyondHorizonError,
    Booking,
    BookingStatus,
    DateOverride,
    HoldExpiredError,
    NoSeatNowError,
    NotOfferedError,
    PastDeadlineError,
    SlotFullError,
    SlotLedger,
    StartBefore,
    TooSoonError,
    UnknownBookingError,
    WeeklyRule,
    Window,
    check_availability,
    check_deadline,
    check_start_now,
    check_zone,
    slots,
)

MORNING = Window(time(9), time(10))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def every_day(
    zone: str,
    overrides: tuple[DateOverride, ...] = (),
    min_notice: timedelta = timedelta(hours=2),
    horizon: timedelta = timedelta(days=14),
) -> Availability:
    rules = tuple(WeeklyRule(d, MORNING) for d in range(7))
    return Availability(zone, rules, timedelta(minutes=30), 1, overrides, min_notice, horizon)


def starts_on(availability: Availability, now: datetime, day: date) -> list[datetime]:
    zone = availability.zone
    return [s.start for s in slots(availability, now) if s.start.astimezone(zone).date() == day]


def test_new_york_slots_move_one_hour_earlier_in_utc_when_dst_starts_in_march() -> None:
    ny, now = every_day("America/New_York"), utc(2027, 3, 10, 12)
    assert starts_on(ny, now, date(2027, 3, 13)) == [utc(2027, 3, 13, 14), utc(2027, 3, 13, 14, 30)]  # EST, UTC-5
    assert starts_on(ny, now, date(2027, 3, 14)) == [utc(2027, 3, 14, 13), utc(2027, 3, 14, 13, 30)]  # EDT, UTC-4


def test_new_york_slots_move_one_hour_later_in_utc_when_dst_ends_in_november() -> None:
    ny, now = every_day("America/New_York"), utc(2027, 11, 3, 12)
    assert starts_on(ny, now, date(2027, 11, 6)) == [utc(2027, 11, 6, 13), utc(2027, 11, 6, 13, 30)]
    assert starts_on(ny, now, date(2027, 11, 7)) == [utc(2027, 11, 7, 14), utc(2027, 11, 7, 14, 30)]


def test_a_window_across_the_march_change_is_three_real_hours_and_skips_the_missing_hour() -> None:
    night = DateOverride(date(2027, 3, 14), (Window(time(0), time(4)),))
    ny = Availability("America/New_York", (), timedelta(hours=1), seats=1, overrides=(night,))
    # 00:00 and 01:00 EST, then 03:00 EDT: 02:00 never happens that night.
    assert [s.start for s in slots(ny, utc(2027, 3, 10))] == [
        utc(2027, 3, 14, 5),
        utc(2027, 3, 14, 6),
        utc(2027, 3, 14, 7),
    ]


def test_a_window_across_the_november_change_is_five_real_hours_with_no_instant_twice() -> None:
    night = DateOverride(date(2027, 11, 7), (Window(time(0), time(4)),))
    ny = Availability("America/New_York", (), timedelta(hours=1), seats=1, overrides=(night,))
    assert [s.start for s in slots(ny, utc(2027, 11, 3))] == [utc(2027, 11, 7, h) for h in (4, 5, 6, 7, 8)]


def test_a_window_past_midnight_gives_slots_on_the_next_date_too() -> None:
    friday_night = (WeeklyRule(4, Window(time(23), time(1))),)
    late = Availability("Asia/Shanghai", friday_night, timedelta(minutes=30), seats=1, min_notice=timedelta(0))
    now = utc(2027, 3, 12, 16, 10)  # Saturday 00:10 in Shanghai: Friday's window still has its 00:30 slot
    assert [s.start for s in slots(late, now)][:2] == [utc(2027, 3, 12, 16, 30), utc(2027, 3, 19, 15)]


def test_shanghai_slots_are_eight_hours_ahead_of_utc_all_year() -> None:
    sh = every_day("Asia/Shanghai")
    assert starts_on(sh, utc(2027, 3, 10), date(2027, 3, 14)) == [utc(2027, 3, 14, 1), utc(2027, 3, 14, 1, 30)]
    assert starts_on(sh, utc(2027, 11, 3), date(2027, 11, 7)) == [utc(2027, 11, 7, 1), utc(2027, 11, 7, 1, 30)]


def test_weekly_rules_give_only_their_weekdays() -> None:
    mondays = Availability("Asia/Shanghai", (WeeklyRule(0, MORNING),), timedelta(minutes=30), seats=1)
    found = slots(mondays, utc(2027, 3, 1))
    assert found and {s.start.astimezone(mondays.zone).weekday() for s in found} == {0}


def test_a_date_override_replaces_the_days_hours_or_closes_it() -> None:
    overrides = (DateOverride(date(2027, 3, 15), (Window(time(14), time(15)),)), DateOverride(date(2027, 3, 16)))
    sh, now = every_day("Asia/Shanghai", overrides=overrides), utc(2027, 3, 10)
    assert starts_on(sh, now, date(2027, 3, 15)) == [utc(2027, 3, 15, 6), utc(2027, 3, 15, 6, 30)]
    assert starts_on(sh, now, date(2027, 3, 16)) == []


def test_slots_respect_the_minimum_notice_and_the_horizon() -> None:
    sh = every_day("Asia/Shanghai", min_notice=timedelta(hours=2), horizon=timedelta(days=3))
    now = utc(2027, 3, 10, 0, 45)  # 08:45 in Shanghai: 09:00 is inside the notice, 09:30 too
    found = slots(sh, now)
    assert found[0].start == utc(2027, 3, 11, 1)
    assert found[-1].start == utc(2027, 3, 12, 1, 30)  # the 13th's 09:00 is 3 days and 15 minutes away


async def test_booking_inside_the_notice_window_is_refused_with_a_message() -> None:
    ledger = SlotLedger(every_day("Asia/Shanghai", min_notice=timedelta(hours=2)))
    with pytest.raises(TooSoonError, match="at least 2 hours ahead") as refused:
        await ledger.book("cand_1", utc(2027, 3, 10, 1, 30), now=utc(2027, 3, 10, 0, 45))
    assert refused.value.code == "too_soon"


async def test_booking_past_the_horizon_is_refused_with_the_last_bookable_time() -> None:
    ledger = SlotLedger(every_day("Asia/Shanghai", horizon=timedelta(days=3)))
    with pytest.raises(BeyondHorizonError, match=r"up to 2027-03-13 08:45 \(Asia/Shanghai\)"):
        await ledger.book("cand_1", utc(2027, 3, 13, 1), now=utc(2027, 3, 10, 0, 45))


async def test_a_time_that_is_no_slot_is_refused() -> None:
    ledger = SlotLedger(every_day("Asia/Shanghai"))
    with pytest.raises(NotOfferedError):
        await ledger.book("cand_1", utc(2027, 3, 12, 1, 10), now=utc(2027, 3, 10))


async def test_fifty_concurrent_bookings_of_a_one_seat_slot_give_exactly_one_booking() -> None:
    ledger, start, now = SlotLedger(every_day("Asia/Shanghai")), utc(2027, 3, 12, 1), utc(2027, 3, 10)

    results = await asyncio.gather(*(ledger.book(f"cand_{i}", start, now) for i in range(50)), return_exceptions=True)

    booked = [r for r in results if isinstance(r, Booking)]
    assert len(booked) == 1
    assert all(isinstance(r, SlotFullError) for r in results if not isinstance(r, Booking))


async def test_a_slot_takes_as_many_bookings_as_it_has_seats() -> None:
    rules = tuple(WeeklyRule(d, MORNING) for d in range(7))
    ledger = SlotLedger(Availability("Asia/Shanghai", rules, timedelta(minutes=30), seats=3))
    start, now = utc(2027, 3, 12, 1), utc(2027, 3, 10)
    results = await asyncio.gather(*(ledger.book(f"cand_{i}", start, now) for i in range(10)), return_exceptions=True)
    assert sum(isinstance(r, Booking) for r in results) == 3


async def test_a_hold_keeps_the_seat_for_ten_minutes_then_lets_it_go() -> None:
    ledger, start, now = SlotLedger(every_day("Asia/Shanghai")), utc(2027, 3, 12, 1), utc(2027, 3, 10)
    first = await ledger.hold("cand_1", start, now)

    with pytest.raises(SlotFullError, match="just taken"):
        await ledger.hold("cand_2", start, now + HOLD_FOR - timedelta(seconds=1))
    second = await ledger.hold("cand_2", start, now + HOLD_FOR)
    with pytest.raises(HoldExpiredError):
        await ledger.confirm(first.id, now + HOLD_FOR)
    booking = await ledger.confirm(second.id, now + HOLD_FOR + timedelta(minutes=1))
    assert booking.candidate_id == "cand_2" and booking.revision == 0


async def test_a_candidate_with_a_booking_reschedules_instead_of_booking_again() -> None:
    ledger, now = SlotLedger(every_day("Asia/Shanghai")), utc(2027, 3, 10)
    await ledger.book("cand_1", utc(2027, 3, 12, 1), now)
    with pytest.raises(AlreadyBookedError):
        await ledger.book("cand_1", utc(2027, 3, 12, 1, 30), now)


async def test_rescheduling_moves_the_seat_and_counts_a_revision() -> None:
    ledger, now = SlotLedger(every_day("Asia/Shanghai")), utc(2027, 3, 10)
    booking = await ledger.book("cand_1", utc(2027, 3, 12, 1), now)

    moved = await ledger.reschedule(booking.id, utc(2027, 3, 13, 1), now + timedelta(hours=1))

    assert (moved.id, moved.revision, moved.slot.start) == (booking.id, 1, utc(2027, 3, 13, 1))
    assert moved.changed_at == now + timedelta(hours=1)
    assert (await ledger.book("cand_2", utc(2027, 3, 12, 1), now)).candidate_id == "cand_2"
    with pytest.raises(SlotFullError):
        await ledger.reschedule(booking.id, utc(2027, 3, 12, 1), now)


async def test_rescheduling_to_the_same_slot_does_not_count_the_booking_against_itself() -> None:
    ledger, now = SlotLedger(every_day("Asia/Shanghai")), utc(2027, 3, 10)
    booking = await ledger.book("cand_1", utc(2027, 3, 12, 1), now)
    assert (await ledger.reschedule(booking.id, utc(2027, 3, 12, 1), now)).revision == 1


async def test_cancelling_frees_the_seat_and_a_cancelled_booking_cannot_change() -> None:
    ledger, start, now = SlotLedger(every_day("Asia/Shanghai")), utc(2027, 3, 12, 1), utc(2027, 3, 10)
    booking = await ledger.book("cand_1", start, now)

    cancelled = await ledger.cancel(booking.id, now)

    assert cancelled.status is BookingStatus.CANCELLED and cancelled.revision == 1
    assert ledger.seats_left(booking.slot, now) == 1
    with pytest.raises(UnknownBookingError):
        await ledger.reschedule(booking.id, utc(2027, 3, 13, 1), now)


def test_start_before_a_deadline_needs_a_free_seat_and_time_left() -> None:
    mode = StartBefore(deadline=utc(2027, 3, 20), seats=4)
    check_start_now(mode, utc(2027, 3, 19, 23), sessions_now=3)
    with pytest.raises(NoSeatNowError, match="try again in a few minutes"):
        check_start_now(mode, utc(2027, 3, 19, 23), sessions_now=4)
    with pytest.raises(PastDeadlineError, match="before 2027-03-20 00:00 UTC"):
        check_start_now(mode, utc(2027, 3, 20), sessions_now=0)


def test_an_unknown_zone_is_refused_by_name() -> None:
    with pytest.raises(AvailabilityError, match="Mars/Base") as refused:
        check_zone("Mars/Base")
    assert refused.value.code == "unknown_time_zone"


def test_a_window_from_a_time_to_itself_or_no_seats_is_a_bad_rule() -> None:
    empty = Availability("UTC", (WeeklyRule(1, Window(time(9), time(9))),), timedelta(hours=1), seats=1)
    with pytest.raises(AvailabilityError, match="weekday 1") as refused:
        check_availability(empty)
    assert refused.value.code == "bad_rule"
    seatless = Availability("UTC", (WeeklyRule(1, Window(time(9), time(12))),), timedelta(hours=1), seats=0)
    with pytest.raises(AvailabilityError, match="seats"):
        check_availability(seatless)
    check_availability(Availability("UTC", (WeeklyRule(1, Window(time(22), time(2))),), timedelta(hours=1), seats=1))


def test_a_deadline_must_be_ahead_when_it_is_set() -> None:
    now = datetime(2027, 3, 1, 12, tzinfo=UTC)
    with pytest.raises(AvailabilityError) as refused:
        check_deadline(StartBefore(now - timedelta(minutes=1), seats=2), now)
    assert refused.value.code == "past_deadline"
    check_deadline(StartBefore(now + timedelta(minutes=1), seats=2), now)
