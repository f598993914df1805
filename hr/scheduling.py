"""Interview slots and bookings: slots from weekly rules and date overrides in an IANA zone, and a seat ledger.

Slots are computed in the company's zone and handed out as UTC instants; the ledger (in memory here, the
database later) holds a seat for 10 minutes while a candidate confirms, so a slot is never booked past its seats.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

HOLD_FOR = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Window:
    """Wall-clock hours in the availability's zone, e.g. 09:00 to 12:00."""

    start: time
    end: time


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    weekday: int  # 0 is Monday, as date.weekday()
    window: Window


@dataclass(frozen=True, slots=True)
class DateOverride:
    """One local date's hours instead of its weekly rules; no windows closes the day."""

    day: date
    windows: tuple[Window, ...] = ()


@dataclass(frozen=True, slots=True)
class Availability:
    """When interviews may be booked for a job.

    `seats` is how many interviews may share a slot: the server sets it from its measured session capacity, since an
    AI interviewer's limit is capacity, not a calendar.
    """

    time_zone: str
    weekly: tuple[WeeklyRule, ...]
    slot_length: timedelta
    seats: int
    overrides: tuple[DateOverride, ...] = ()
    min_notice: timedelta = timedelta(hours=2)
    horizon: timedelta = timedelta(days=14)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime  # UTC
    end: datetime


def _windows(availability: Availability, day: date) -> tuple[Window, ...]:
    for override in availability.overrides:
        if override.day == day:
            return override.windows
    return tuple(rule.window for rule in availability.weekly if rule.weekday == day.weekday())


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    # A wall time skipped by a DST change (02:30 in New York in March) falls forward by the gap; one that occurs
    # twice (01:30 in November) means its first occurrence. zoneinfo does both with fold=0.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _day_slots(availability: Availability, day: date) -> Iterator[Slot]:
    zone = availability.zone
    for window in _windows(availability, day):
        start = _instant(day, window.start, zone)
        # Stepping in real time, not wall time: a window across a DST change is as long as it really is.
        end = (
            _instant(day, window.end, zone)
            if window.end > window.start
            else _instant(day + timedelta(days=1), window.end, zone)
        )
        while start + availability.slot_length <= end:
            yield Slot(start, start + availability.slot_length)
            start += availability.slot_length


def slots(availability: Availability, now: datetime) -> tuple[Slot, ...]:
    """Every slot a candidate may book now: after the minimum notice, before the horizon, in time order."""
    earliest, latest = now + availability.min_notice, now + availability.horizon
    zone = availability.zone
    # From the day before: a window past midnight (22:00 to 02:00) yields slots on the next date.
    day, last_day = earliest.astimezone(zone).date() - timedelta(days=1), latest.astimezone(zone).date()
    found: list[Slot] = []
    while day <= last_day:
        found.extend(s for s in _day_slots(availability, day) if earliest <= s.start <= latest)
        day += timedelta(days=1)
    return tuple(sorted(set(found), key=lambda s: s.start))


class BookingError(Exception):
    """A booking the ledger refuses; `code` is stable for clients, the message is for the candidate."""

    code = "booking_refused"


class TooSoonError(BookingError):
    code = "too_soon"


class BeyondHorizonError(BookingError):
    code = "beyond_horizon"


class NotOfferedError(BookingError):
    code = "not_offered"


class SlotFullError(BookingError):
    code = "slot_full"


class HoldExpiredError(BookingError):
    code = "hold_expired"


class AlreadyBookedError(BookingError):
    code = "already_booked"


class UnknownBookingError(BookingError):
    code = "unknown_booking"


class PastDeadlineError(BookingError):
    code = "past_deadline"


class NoSeatNowError(BookingError):
    code = "no_seat_now"


def _hours(span: timedelta) -> str:
    hours = span / timedelta(hours=1)
    return f"{hours:g} hour" + ("" if hours == 1 else "s")


def offered_slot(availability: Availability, start: datetime, now: datetime) -> Slot:
    """The slot starting at `start` if a candidate may book it now; otherwise a BookingError that says why."""
    if start < now + availability.min_notice:
        raise TooSoonError(
            f"Interviews are booked at least {_hours(availability.min_notice)} ahead; please pick a later time."
        )
    if start > now + availability.horizon:
        last = (now + availability.horizon).astimezone(availability.zone)
        raise BeyondHorizonError(f"Interviews can be booked up to {last:%Y-%m-%d %H:%M} ({availability.time_zone}).")
    local_day = start.astimezone(availability.zone).date()
    for day in (local_day - timedelta(days=1), local_day):
        for slot in _day_slots(availability, day):
            if slot.start == start:
                return slot
    raise NotOfferedError("No interview slot starts at that time; please pick one of the times offered.")


class BookingStatus(StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Hold:
    id: str
    candidate_id: str
    slot: Slot
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Booking:
    """A candidate's interview time. `revision` counts changes (the invite's SEQUENCE); `changed_at` is the last."""

    id: str
    candidate_id: str
    slot: Slot
    time_zone: str
    status: BookingStatus
    revision: int
    changed_at: datetime


class SlotLedger:
    """Holds and bookings for one availability, in memory; every check-and-change happens under one lock."""

    def __init__(self, availability: Availability) -> None:
        self.availability = availability
        self._holds: dict[str, Hold] = {}
        self._bookings: dict[str, Booking] = {}
        self._lock = asyncio.Lock()

    def _taken(self, slot: Slot, now: datetime, excluding: str | None = None) -> int:
        holds = sum(1 for h in self._holds.values() if h.slot == slot and h.expires_at > now)
        booked = sum(
            1
            for b in self._bookings.values()
            if b.slot == slot and b.status is BookingStatus.CONFIRMED and b.id != excluding
        )
        return holds + booked

    def _free_slot(self, start: datetime, now: datetime, excluding: str | None = None) -> Slot:
        slot = offered_slot(self.availability, start, now)
        if self._taken(slot, now, excluding) >= self.availability.seats:
            raise SlotFullError("Someone has just taken this time; please pick another.")
        return slot

    def _active_booking(self, candidate_id: str) -> Booking | None:
        return next(
            (
                b
                for b in self._bookings.values()
                if b.candidate_id == candidate_id and b.status is BookingStatus.CONFIRMED
            ),
            None,
        )

    def seats_left(self, slot: Slot, now: datetime) -> int:
        return max(self.availability.seats - self._taken(slot, now), 0)

    async def hold(self, candidate_id: str, start: datetime, now: datetime) -> Hold:
        """Keep a seat for 10 minutes while the candidate confirms; a candidate has at most one hold."""
        async with self._lock:
            if self._active_booking(candidate_id) is not None:
                raise AlreadyBookedError("You already have an interview booked; reschedule it instead.")
            # A new pick replaces the candidate's earlier hold; expired holds go too, so the ledger does not grow.
            self._holds = {
                k: h for k, h in self._holds.items() if h.candidate_id != candidate_id and h.expires_at > now
            }
            hold = Hold("hold_" + secrets.token_urlsafe(9), candidate_id, self._free_slot(start, now), now + HOLD_FOR)
            self._holds[hold.id] = hold
            return hold

    async def confirm(self, hold_id: str, now: datetime) -> Booking:
        async with self._lock:
            hold = self._holds.pop(hold_id, None)
            if hold is None or hold.expires_at <= now:
                raise HoldExpiredError(
                    "The time you picked was held for 10 minutes and has been released; please pick again."
                )
            booking = Booking(
                id="bk_" + secrets.token_urlsafe(9),
                candidate_id=hold.candidate_id,
                slot=hold.slot,
                time_zone=self.availability.time_zone,
                status=BookingStatus.CONFIRMED,
                revision=0,
                changed_at=now,
            )
            self._bookings[booking.id] = booking
            return booking

    async def book(self, candidate_id: str, start: datetime, now: datetime) -> Booking:
        """Hold and confirm at once (the page's one-tap booking)."""
        hold = await self.hold(candidate_id, start, now)
        return await self.confirm(hold.id, now)

    def _confirmed(self, booking_id: str) -> Booking:
        booking = self._bookings.get(booking_id)
        if booking is None or booking.status is not BookingStatus.CONFIRMED:
            raise UnknownBookingError("This booking no longer exists.")
        return booking

    async def reschedule(self, booking_id: str, start: datetime, now: datetime) -> Booking:
        async with self._lock:
            booking = self._confirmed(booking_id)
            moved = replace(
                booking,
                slot=self._free_slot(start, now, excluding=booking_id),
                revision=booking.revision + 1,
                changed_at=now,
            )
            self._bookings[booking_id] = moved
            return moved

    async def cancel(self, booking_id: str, now: datetime) -> Booking:
        async with self._lock:
            booking = self._confirmed(booking_id)
            cancelled = replace(booking, status=BookingStatus.CANCELLED, revision=booking.revision + 1, changed_at=now)
            self._bookings[booking_id] = cancelled
            return cancelled


@dataclass(frozen=True, slots=True)
class StartBefore:
    """The "any time before <deadline>" mode: no slots; the candidate starts at once whenever a seat is free."""

    deadline: datetime
    seats: int


def check_start_now(mode: StartBefore, now: datetime, sessions_now: int) -> None:
    """Raise a BookingError unless the candidate may start now; `sessions_now` is what the server is running."""
    if now >= mode.deadline:
        raise PastDeadlineError(
            f"This interview had to be taken before {mode.deadline.astimezone(UTC):%Y-%m-%d %H:%M} UTC."
        )
    if sessions_now >= mode.seats:
        raise NoSeatNowError("All interview seats are in use right now; please try again in a few minutes.")


class AvailabilityError(ValueError):
    """Availability HR cannot set as given; `code` is stable for clients, the message says what to change."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`, or an AvailabilityError naming it."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError; a malformed key is a ValueError
        raise AvailabilityError(
            "unknown_time_zone", f"{name!r} is not an IANA time zone (e.g. Asia/Shanghai)"
        ) from None


def check_availability(availability: Availability) -> None:
    """Raise an AvailabilityError unless the availability can offer slots as written."""
    check_zone(availability.time_zone)
    if availability.seats < 1:
        raise AvailabilityError("bad_rule", "seats must be 1 or more")
    if availability.slot_length <= timedelta(0):
        raise AvailabilityError("bad_rule", "the slot length must be positive")
    if availability.min_notice < timedelta(0) or availability.horizon <= availability.min_notice:
        raise AvailabilityError(
            "bad_rule", "the horizon must lie beyond the minimum notice, and the notice be 0 or more"
        )
    windows = [(f"weekday {r.weekday}", r.window) for r in availability.weekly]
    windows += [(o.day.isoformat(), w) for o in availability.overrides for w in o.windows]
    for rule in availability.weekly:
        if not 0 <= rule.weekday <= 6:
            raise AvailabilityError("bad_rule", f"weekday {rule.weekday}: use 0 (Monday) to 6 (Sunday)")
    for where, window in windows:
        if window.start == window.end:
            raise AvailabilityError("bad_rule", f"{where}: a window from {window.start:%H:%M} to itself offers no time")


def check_deadline(mode: StartBefore, now: datetime) -> None:
    """The "any time before" mode's deadline must still be ahead when HR sets it."""
    if mode.deadline <= now:
        raise AvailabilityError(
            "past_deadline", f"the deadline {mode.deadline.astimezone(UTC):%Y-%m-%d %H:%M} UTC has passed"
        )
    if mode.seats < 1:
        raise AvailabilityError("bad_rule", "seats must be 1 or more")
