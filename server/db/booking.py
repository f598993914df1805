"""Self-scheduling in the database: jobs' availability, the seat ledger (one row per taken seat of a slot, holds
included), and bookings; each booking, reschedule or cancellation commits in one transaction with the interview's
`scheduled_at`, its webhook event, its calendar e-mail and its reminders.

The slot rules are hr.scheduling's. A seat is a primary key (job, slot start, seat number): two transactions that
both see a seat free and take it cannot both commit, on SQLite or PostgreSQL, so a slot never holds more than its
seats.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hr.calendar_invite import Invitation, Person
from hr.email_message import booking_email
from hr.scheduling import (
    HOLD_FOR,
    AlreadyBookedError,
    Availability,
    BookingError,
    BookingStatus,
    DateOverride,
    NotOfferedError,
    Slot,
    SlotFullError,
    StartBefore,
    UnknownBookingError,
    WeeklyRule,
    Window,
    check_start_now,
    offered_slot,
)
from hr.scheduling import Booking as Booked
from hr.webhook_events import InterviewCancelled, InterviewRescheduled, InterviewScheduled
from server.db.status import InterviewStatus
from server.db.store import Store
from server.db.tables import AvailabilityRow, BookingRow, CandidateRow, InterviewRow, JobRow, SeatRow
from server.interview_tokens import candidate_token, candidate_token_opens, join_url
from server.mail.outbox import MailOutbox
from server.reminders.table import drop_reminders, plan_reminders
from server.token_vault import TokenVault
from server.webhooks.outbox import WebhookOutbox

T = TypeVar("T")


class JobNotFound(LookupError):
    pass


class InterviewNotBookable(BookingError):
    """The interview has begun, ended or been withdrawn: its time can no longer change."""

    code = "interview_not_bookable"


class BookingCancelledError(BookingError):
    code = "booking_cancelled"


class NoAvailabilityError(BookingError):
    code = "no_availability"


@dataclass(frozen=True, slots=True)
class JobAvailability:
    """A job's availability as HR set it: slots by rules, or (`start_before` set) any time before a deadline."""

    job_id: str
    rules: Availability
    start_before: StartBefore | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Letterhead:
    """Who the booking e-mails come from, and where their links point."""

    sender: Person
    domain: str
    base_url: str


@dataclass(frozen=True, slots=True)
class CandidateView:
    """What the candidate's token opens: their interview, its job's availability and their current booking."""

    interview: InterviewRow
    availability: JobAvailability | None
    booking: BookingRow | None  # the newest, confirmed or cancelled


@dataclass(frozen=True, slots=True)
class OpenSlot:
    slot: Slot
    seats_left: int


def _hm(at: time) -> str:
    return at.strftime("%H:%M")


def availability_row(value: JobAvailability) -> AvailabilityRow:
    rules = value.rules
    return AvailabilityRow(
        job_id=value.job_id,
        time_zone=rules.time_zone,
        weekly=[[r.weekday, _hm(r.window.start), _hm(r.window.end)] for r in rules.weekly],
        overrides=[[o.day.isoformat(), [[_hm(w.start), _hm(w.end)] for w in o.windows]] for o in rules.overrides],
        slot_minutes=int(rules.slot_length / timedelta(minutes=1)),
        seats=rules.seats,
        min_notice_s=int(rules.min_notice.total_seconds()),
        horizon_s=int(rules.horizon.total_seconds()),
        deadline=value.start_before.deadline if value.start_before is not None else None,
        updated_at=value.updated_at,
    )


def availability_of(row: AvailabilityRow) -> JobAvailability:
    def window(pair: Sequence[str]) -> Window:
        return Window(time.fromisoformat(pair[0]), time.fromisoformat(pair[1]))

    rules = Availability(
        time_zone=row.time_zone,
        weekly=tuple(WeeklyRule(int(w[0]), window(w[1:])) for w in row.weekly),
        slot_length=timedelta(minutes=row.slot_minutes),
        seats=row.seats,
        overrides=tuple(DateOverride(date.fromisoformat(o[0]), tuple(window(w) for w in o[1])) for o in row.overrides),
        min_notice=timedelta(seconds=row.min_notice_s),
        horizon=timedelta(seconds=row.horizon_s),
    )
    start_before = StartBefore(row.deadline, row.seats) if row.deadline is not None else None
    return JobAvailability(row.job_id, rules, start_before, row.updated_at)


def booked(row: BookingRow) -> Booked:
    """The row as hr.scheduling's Booking, which the invitation, the e-mail and the reminders are made from."""
    return Booked(
        id=row.id,
        candidate_id=row.candidate_id,
        slot=Slot(row.slot_start, row.slot_end),
        time_zone=row.time_zone,
        status=BookingStatus(row.status),
        revision=row.revision,
        changed_at=row.changed_at,
    )


async def calendar_invitation(
    session: AsyncSession, interview: InterviewRow, letterhead: Letterhead, vault: TokenVault
) -> Invitation | None:
    """What the booking's e-mails say around its times; None when the candidate has no e-mail address."""
    job = await session.get(JobRow, interview.job_id)
    candidate = await session.get(CandidateRow, interview.candidate_id)
    if job is None or candidate is None or not candidate.email:
        return None
    return Invitation(
        job_title=job.title,
        language="zh" if job.language == "zh" else "en",
        join_url=join_url(letterhead.base_url, interview.id, candidate_token(vault, interview)),
        organizer=letterhead.sender,
        candidate=Person(candidate.email, candidate.name),
        uid_domain=letterhead.domain,
    )


def _free_seat_at(now: datetime) -> Any:
    return or_(SeatRow.hold_until.is_(None), SeatRow.hold_until > now)


class SqlBookings:
    """Every read and write of availability, seats and bookings."""

    def __init__(
        self,
        store: Store,
        webhooks: WebhookOutbox,
        mail: MailOutbox,
        letterhead: Letterhead,
        *,
        reminder_offsets: Sequence[timedelta],
        candidate_token_days: int,
    ) -> None:
        self.store = store
        self.webhooks = webhooks
        self.mail = mail
        self.letterhead = letterhead
        self.reminder_offsets = tuple(reminder_offsets)
        self.candidate_token_days = candidate_token_days
        self._session = async_sessionmaker(store.engine, expire_on_commit=False)

    # --- HR: availability ---------------------------------------------------------------------------------------

    async def set_availability(self, value: JobAvailability) -> JobAvailability:
        async with self._session() as s, s.begin():
            if await s.get(JobRow, value.job_id) is None:
                raise JobNotFound(value.job_id)
            await s.merge(availability_row(value))
        return value

    async def availability(self, job_id: str) -> JobAvailability | None:
        async with self._session() as s:
            row = await s.get(AvailabilityRow, job_id)
        return availability_of(row) if row is not None else None

    # --- the candidate's reads ----------------------------------------------------------------------------------

    async def for_candidate(self, interview_id: str, token: str | None) -> CandidateView | None:
        """The candidate's view if `token` is the interview's candidate token and still opens it; None otherwise, after
        the same work."""
        async with self._session() as s:
            interview = await s.get(InterviewRow, interview_id)
            if (
                not candidate_token_opens(self.store.vault, interview, token, self.candidate_token_days)
                or interview is None
            ):
                return None
            availability = await s.get(AvailabilityRow, interview.job_id)
            booking = await self._newest_booking(s, interview_id)
        return CandidateView(interview, availability_of(availability) if availability else None, booking)

    async def open_slots(
        self, availability: Availability, job_id: str, slots: Sequence[Slot], now: datetime
    ) -> list[OpenSlot]:
        """`slots` with the seats each has left now; full ones left out."""
        if not slots:
            return []
        query = (
            select(SeatRow.slot_start, func.count())
            .where(
                SeatRow.job_id == job_id,
                SeatRow.slot_start.between(slots[0].start, slots[-1].start),
                _free_seat_at(now),
            )
            .group_by(SeatRow.slot_start)
        )
        async with self._session() as s:
            taken = {start.astimezone(UTC): n for start, n in (await s.execute(query)).all()}
        left = ((slot, availability.seats - taken.get(slot.start, 0)) for slot in slots)
        return [OpenSlot(slot, n) for slot, n in left if n > 0]

    async def live_sessions(self) -> int:
        async with self._session() as s:
            count = await s.scalar(select(func.count()).where(InterviewRow.status == InterviewStatus.LIVE))
        return int(count or 0)

    async def may_start_now(self, mode: StartBefore, now: datetime) -> None:
        """Raise a BookingError unless a seat is free now and the deadline is ahead (the "any time before" mode)."""
        check_start_now(mode, now, await self.live_sessions())

    # --- the candidate's changes --------------------------------------------------------------------------------

    async def hold(self, interview_id: str, start: datetime, now: datetime) -> SeatRow:
        """Keep a seat of the slot at `start` for 10 minutes while the candidate confirms; a new hold replaces theirs."""

        async def change(s: AsyncSession, interview: InterviewRow, availability: Availability) -> SeatRow:
            if await self._confirmed(s, interview.id) is not None:
                raise AlreadyBookedError("You already have an interview booked; reschedule it instead.")
            await s.execute(delete(SeatRow).where(SeatRow.interview_id == interview.id, SeatRow.booking_id.is_(None)))
            slot = offered_slot(availability, start, now)
            return await self._take_seat(s, interview, availability, slot, None, now)

        return await self._in_transaction(interview_id, now, change)

    async def book(self, interview_id: str, start: datetime, shown_zone: str, now: datetime) -> BookingRow:
        async def change(s: AsyncSession, interview: InterviewRow, availability: Availability) -> BookingRow:
            if await self._confirmed(s, interview.id) is not None:
                raise AlreadyBookedError("You already have an interview booked; reschedule it instead.")
            slot = offered_slot(availability, start, now)
            row = BookingRow(
                id="bk_" + secrets.token_hex(12),
                interview_id=interview.id,
                job_id=interview.job_id,
                candidate_id=interview.candidate_id,
                slot_start=slot.start,
                slot_end=slot.end,
                time_zone=availability.time_zone,
                shown_zone=shown_zone,
                status=BookingStatus.CONFIRMED,
                revision=0,
                changed_at=now,
                created_at=now,
            )
            await self._take_seat(s, interview, availability, slot, row.id, now)
            s.add(row)
            await s.flush()
            interview.scheduled_at = slot.start
            payload = InterviewScheduled(
                interview_id=interview.id,
                job_id=interview.job_id,
                candidate_id=interview.candidate_id,
                booking_id=row.id,
                starts_at=slot.start,
                ends_at=slot.end,
                time_zone=availability.time_zone,
            )
            await self.webhooks.enqueue(s, f"interview.scheduled:{row.id}", payload, now)
            await self._after_change(s, interview, row, now)
            return row

        return await self._in_transaction(interview_id, now, change)

    async def reschedule(self, interview_id: str, start: datetime, shown_zone: str | None, now: datetime) -> BookingRow:
        async def change(s: AsyncSession, interview: InterviewRow, availability: Availability) -> BookingRow:
            row = await self._current(s, interview.id)
            slot = offered_slot(availability, start, now)
            # Its own seat is given up first: moving within one slot must not count the booking against itself.
            await s.execute(delete(SeatRow).where(SeatRow.booking_id == row.id))
            await self._take_seat(s, interview, availability, slot, row.id, now)
            previous = row.slot_start
            row.slot_start, row.slot_end = slot.start, slot.end
            row.shown_zone = shown_zone or row.shown_zone
            row.revision += 1
            row.changed_at = now
            interview.scheduled_at = slot.start
            payload = InterviewRescheduled(
                interview_id=interview.id,
                job_id=interview.job_id,
                candidate_id=interview.candidate_id,
                booking_id=row.id,
                starts_at=slot.start,
                ends_at=slot.end,
                time_zone=row.time_zone,
                previous_starts_at=previous,
            )
            await self.webhooks.enqueue(s, f"interview.rescheduled:{row.id}:{row.revision}", payload, now)
            await self._after_change(s, interview, row, now)
            return row

        return await self._in_transaction(interview_id, now, change)

    async def cancel(self, interview_id: str, reason: str | None, now: datetime) -> BookingRow:
        async def change(s: AsyncSession, interview: InterviewRow, availability: Availability) -> BookingRow:
            row = await self._current(s, interview.id)
            await s.execute(delete(SeatRow).where(SeatRow.booking_id == row.id))
            row.status = BookingStatus.CANCELLED
            row.revision += 1
            row.changed_at = now
            interview.scheduled_at = None
            payload = InterviewCancelled(
                interview_id=interview.id,
                job_id=interview.job_id,
                candidate_id=interview.candidate_id,
                booking_id=row.id,
                cancelled_by="candidate",
                reason=reason,
            )
            await self.webhooks.enqueue(s, f"interview.cancelled:{row.id}", payload, now)
            await self._after_change(s, interview, row, now)
            return row

        return await self._in_transaction(interview_id, now, change, needs_slots=False)

    # --- inside the transaction ---------------------------------------------------------------------------------

    async def _in_transaction(
        self,
        interview_id: str,
        now: datetime,
        change: Callable[[AsyncSession, InterviewRow, Availability], Awaitable[T]],
        *,
        needs_slots: bool = True,
    ) -> T:
        try:
            async with self._session() as s, s.begin():
                interview = await self._locked_interview(s, interview_id)
                if interview.status != InterviewStatus.SCHEDULED:
                    raise InterviewNotBookable(
                        f"This interview is {interview.status}: its time can no longer be booked or changed."
                    )
                found = await s.get(AvailabilityRow, interview.job_id)
                availability = availability_of(found) if found is not None else None
                if availability is None:
                    raise NoAvailabilityError("No interview times have been set for this job yet.")
                if needs_slots and availability.start_before is not None:
                    raise NotOfferedError(
                        "This interview has no set times: start it whenever you are ready, before the deadline."
                    )
                result: T = await change(s, interview, availability.rules)
        except IntegrityError:
            # Another transaction took the last seat between our read of the slot and our write.
            raise SlotFullError("Someone has just taken this time; please pick another.") from None
        return result

    async def _locked_interview(self, s: AsyncSession, interview_id: str) -> InterviewRow:
        """A write first: the no-op UPDATE takes SQLite's write lock at once and PostgreSQL's row lock, so one
        candidate's changes to their booking run one after another."""
        await s.execute(update(InterviewRow).where(InterviewRow.id == interview_id).values(status=InterviewRow.status))
        interview = await s.get(InterviewRow, interview_id, populate_existing=True)
        if interview is None:
            raise UnknownBookingError("This interview no longer exists.")
        return interview

    async def _take_seat(
        self,
        s: AsyncSession,
        interview: InterviewRow,
        availability: Availability,
        slot: Slot,
        booking_id: str | None,
        now: datetime,
    ) -> SeatRow:
        """The candidate's hold on the slot becomes the booking's seat; otherwise the lowest free seat is taken."""
        await s.execute(
            delete(SeatRow).where(
                SeatRow.job_id == interview.job_id, SeatRow.slot_start == slot.start, SeatRow.hold_until <= now
            )
        )
        taken = (
            await s.scalars(select(SeatRow).where(SeatRow.job_id == interview.job_id, SeatRow.slot_start == slot.start))
        ).all()
        mine = next((t for t in taken if t.interview_id == interview.id and t.booking_id is None), None)
        if mine is not None and booking_id is not None:
            mine.booking_id, mine.hold_until = booking_id, None
            return mine
        if mine is not None:
            mine.hold_until = now + HOLD_FOR
            return mine
        free = sorted(set(range(availability.seats)) - {t.seat for t in taken})
        if not free:
            raise SlotFullError("Someone has just taken this time; please pick another.")
        if booking_id is not None:
            await s.execute(delete(SeatRow).where(SeatRow.interview_id == interview.id, SeatRow.booking_id.is_(None)))
        seat = SeatRow(
            job_id=interview.job_id,
            slot_start=slot.start,
            seat=free[0],
            interview_id=interview.id,
            booking_id=booking_id,
            hold_until=None if booking_id is not None else now + HOLD_FOR,
        )
        s.add(seat)
        await s.flush()
        return seat

    async def _newest_booking(self, s: AsyncSession, interview_id: str) -> BookingRow | None:
        query = (
            select(BookingRow)
            .where(BookingRow.interview_id == interview_id)
            .order_by(BookingRow.created_at.desc(), BookingRow.id)
            .limit(1)
        )
        return (await s.scalars(query)).first()

    async def _confirmed(self, s: AsyncSession, interview_id: str) -> BookingRow | None:
        newest = await self._newest_booking(s, interview_id)
        return newest if newest is not None and newest.status == BookingStatus.CONFIRMED else None

    async def _current(self, s: AsyncSession, interview_id: str) -> BookingRow:
        newest = await self._newest_booking(s, interview_id)
        if newest is None:
            raise UnknownBookingError("You have no interview booked yet; book a time first.")
        if newest.status != BookingStatus.CONFIRMED:
            raise BookingCancelledError("This booking was cancelled; book a new time instead.")
        return newest

    async def _after_change(self, s: AsyncSession, interview: InterviewRow, row: BookingRow, now: datetime) -> None:
        """The calendar e-mail for the booking as it now is, and its reminders planned again (none once cancelled)."""
        booking = booked(row)
        if booking.status is BookingStatus.CANCELLED:
            await drop_reminders(s, row.id, now)
        else:
            await plan_reminders(s, booking, interview.id, self.reminder_offsets, now)
        invitation = await calendar_invitation(s, interview, self.letterhead, self.store.vault)
        if invitation is None:
            return
        message = booking_email(booking, invitation, now, row.shown_zone)
        mail_id = "ml_" + secrets.token_hex(12)
        await self.mail.add(
            s, mail_id, f"booking:{row.id}:{row.revision}", "booking", message, candidate_id=row.candidate_id
        )
