"""Interview reminders as plain decisions: which are planned for a booking, and which are due to send now.

A reminder is named by its booking, the start it announces and its offset, so a reschedule plans new ones while
the already-sent set keeps any one from going out twice; the durable job table is the caller's.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from hr.scheduling import Booking, BookingStatus

DEFAULT_OFFSETS = (timedelta(hours=24), timedelta(hours=1))


@dataclass(frozen=True, slots=True)
class Reminder:
    booking_id: str
    starts_at: datetime
    offset: timedelta

    @property
    def due_at(self) -> datetime:
        return self.starts_at - self.offset

    @property
    def key(self) -> str:
        """Unique per reminder: what the sent set (and the job table's unique index) holds."""
        return f"{self.booking_id}/{self.starts_at.timestamp():.0f}/{self.offset.total_seconds():.0f}"


@dataclass(frozen=True, slots=True)
class ReminderDecision:
    """What to do now: send these; mark those done unsent, since a later reminder already says the same."""

    send: tuple[Reminder, ...]
    skip: tuple[Reminder, ...]


def plan(booking: Booking, offsets: tuple[timedelta, ...] = DEFAULT_OFFSETS) -> tuple[Reminder, ...]:
    """The booking's reminders in time order; none once cancelled.

    A reminder whose moment had passed when the booking was made or moved is left out: the confirmation said it.
    """
    if booking.status is BookingStatus.CANCELLED:
        return ()
    planned = (Reminder(booking.id, booking.slot.start, offset) for offset in offsets)
    return tuple(sorted((r for r in planned if r.due_at > booking.changed_at), key=lambda r: r.due_at))


def due(
    booking: Booking,
    now: datetime,
    sent: Set[str],
    *,
    started: bool,
    offsets: tuple[timedelta, ...] = DEFAULT_OFFSETS,
) -> ReminderDecision:
    """The reminders to send at `now`, given the keys already sent or skipped and whether the interview started."""
    if started or now >= booking.slot.start:
        return ReminderDecision((), ())
    due_now = [r for r in plan(booking, offsets) if r.due_at <= now]
    if not due_now:
        return ReminderDecision((), ())
    # Only the latest due reminder may go out: after downtime the candidate must not hear "in 24 h" an hour before,
    # and an older one never goes out after a later one, whether or not the caller recorded it as skipped.
    latest, older = due_now[-1], due_now[:-1]
    send = () if latest.key in sent else (latest,)
    return ReminderDecision(send, tuple(r for r in older if r.key not in sent))


def next_due_at(booking: Booking, sent: Set[str], offsets: tuple[timedelta, ...] = DEFAULT_OFFSETS) -> datetime | None:
    """When a reminder worker next has something to do for this booking (`sent` holds sent and skipped keys)."""
    return next((r.due_at for r in plan(booking, offsets) if r.key not in sent), None)
