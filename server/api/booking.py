"""Self-scheduling over REST: HR sets a job's availability (`/v1/jobs/{id}/availability`); the candidate, with their
interview's candidate token and no login, lists slots in their own zone, holds, books, reschedules and cancels
(`/v1/interviews/{id}/booking`), or in the "any time before" mode starts at once when a seat is free.

The slot rules are hr/scheduling.py; the ledger and what each change writes, server/db/booking.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_401_UNAUTHORIZED,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
)
from msgspec import Meta, Struct

from hr.scheduling import (
    Availability,
    AvailabilityError,
    BeyondHorizonError,
    BookingError,
    DateOverride,
    NotOfferedError,
    PastDeadlineError,
    StartBefore,
    TooSoonError,
    UnknownBookingError,
    WeeklyRule,
    Window,
    check_availability,
    check_deadline,
    check_zone,
    slots,
)
from server.auth import role_guard, within_jobs
from server.db.booking import (
    CandidateView,
    JobAvailability,
    JobNotFound,
    SqlBookings,
)
from server.db.status import InterviewStatus
from server.db.tables import BookingRow
from server.errors import ApiError, ErrorBody, errors
from server.interview_tokens import join_url
from server.people import RECRUITING, Principal, roles
from server.route_audit import audited
from server.settings import Settings

HHMM = Annotated[str, Meta(pattern=r"^\d{2}:\d{2}$", description="wall-clock time in the availability's zone, HH:MM")]
Zone = Annotated[str, Meta(min_length=1, max_length=64, description="an IANA time zone, e.g. Asia/Shanghai")]


class WindowIn(Struct, forbid_unknown_fields=True):
    start: HHMM
    end: HHMM  # earlier than start: the window runs past midnight


class WeeklyRuleIn(Struct, forbid_unknown_fields=True):
    weekday: Annotated[int, Meta(ge=0, le=6, description="0 is Monday, 6 Sunday")]
    start: HHMM
    end: HHMM


class DateOverrideIn(Struct, forbid_unknown_fields=True):
    date: date
    windows: list[WindowIn] = []


class AvailabilityIn(Struct, forbid_unknown_fields=True):
    """Slots by weekly rules and date overrides in `time_zone`, or with `start_before` set, no slots: the candidate
    starts whenever a seat is free before that moment."""

    time_zone: Zone
    weekly: list[WeeklyRuleIn] = []
    overrides: list[DateOverrideIn] = []
    slot_minutes: Annotated[int, Meta(ge=5, le=480)] = 45
    seats: Annotated[int, Meta(ge=1, le=1000)] | None = None  # default: SHANMIAN_SESSION_CAPACITY
    min_notice_minutes: Annotated[int, Meta(ge=0, le=43_200)] = 120
    horizon_days: Annotated[int, Meta(ge=1, le=365)] = 14
    start_before: datetime | None = None


class AvailabilityOut(Struct):
    job_id: str
    time_zone: str
    weekly: list[WeeklyRuleIn]
    overrides: list[DateOverrideIn]
    slot_minutes: int
    seats: int
    min_notice_minutes: int
    horizon_days: int
    start_before: datetime | None
    updated_at: datetime


class SlotOut(Struct):
    start: datetime  # UTC
    end: datetime
    local_start: str  # in the zone asked for, ISO 8601 with its offset
    local_end: str
    seats_left: int


class BookingOut(Struct):
    id: str
    interview_id: str
    status: str  # confirmed | cancelled
    start: datetime
    end: datetime
    local_start: str
    time_zone: str  # the zone the times are shown in
    revision: int  # the calendar invitation's SEQUENCE
    changed_at: datetime


class SlotsOut(Struct):
    mode: str  # slots | start_before
    time_zone: str  # the zone `local_*` are in
    slots: list[SlotOut]
    booking: BookingOut | None
    start_before: datetime | None  # the deadline, in the "any time before" mode
    can_start_now: bool  # in that mode: a seat is free now and the deadline is ahead
    reason: str | None  # why not, if not


class HoldOut(Struct):
    start: datetime
    end: datetime
    hold_until: datetime


class PickIn(Struct, forbid_unknown_fields=True):
    start: datetime  # one of the slots' `start`
    time_zone: Zone | None = None  # the candidate's, for the times in their e-mails (default: the availability's)


class CancelIn(Struct, forbid_unknown_fields=True):
    reason: Annotated[str, Meta(max_length=1000)] | None = None


class StartOut(Struct):
    join_url: str


def _refused(description: str) -> dict[int, ResponseSpec]:
    spec = ResponseSpec(data_container=ErrorBody, description=description, generate_examples=False)
    return {HTTP_422_UNPROCESSABLE_ENTITY: spec}


_BAD_AVAILABILITY = _refused("`unknown_time_zone`, `bad_rule` or `past_deadline`; the message says what to change.")
_BAD_TIME = _refused(
    "`too_soon` (inside the minimum notice), `beyond_horizon`, `not_offered` (no slot starts then, or the job "
    "has no slots), `past_deadline`, `unknown_time_zone`; the message is for the candidate."
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _unprocessable(exc: AvailabilityError | BookingError) -> ApiError:
    code = exc.code
    return ApiError(HTTP_422_UNPROCESSABLE_ENTITY, code, str(exc))


def _booking_error(exc: BookingError) -> ApiError:
    """Times the rules refuse are 422; a conflict with another booking or the interview's state, 409."""
    if isinstance(exc, TooSoonError | BeyondHorizonError | NotOfferedError | PastDeadlineError):
        return _unprocessable(exc)
    if isinstance(exc, UnknownBookingError):
        return ApiError(HTTP_404_NOT_FOUND, exc.code, str(exc))
    return ApiError(HTTP_409_CONFLICT, exc.code, str(exc))


def _parse_time(text: str, where: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise AvailabilityError(
            "bad_rule", f"{where}: {text!r} is no time of day (use HH:MM, 00:00 to 23:59)"
        ) from None


def _window(start: str, end: str, where: str) -> Window:
    return Window(_parse_time(start, where), _parse_time(end, where))


def job_availability(job_id: str, data: AvailabilityIn, default_seats: int, now: datetime) -> JobAvailability:
    """The request as hr.scheduling's types, checked; an AvailabilityError says what is wrong."""
    seats = data.seats or default_seats
    rules = Availability(
        time_zone=data.time_zone,
        weekly=tuple(WeeklyRule(r.weekday, _window(r.start, r.end, f"weekday {r.weekday}")) for r in data.weekly),
        slot_length=timedelta(minutes=data.slot_minutes),
        seats=seats,
        overrides=tuple(
            DateOverride(o.date, tuple(_window(w.start, w.end, o.date.isoformat()) for w in o.windows))
            for o in data.overrides
        ),
        min_notice=timedelta(minutes=data.min_notice_minutes),
        horizon=timedelta(days=data.horizon_days),
    )
    check_availability(rules)
    start_before = None
    if data.start_before is not None:
        deadline = data.start_before if data.start_before.tzinfo else data.start_before.replace(tzinfo=UTC)
        start_before = StartBefore(deadline.astimezone(UTC), seats)
        check_deadline(start_before, now)
    elif not rules.weekly and not any(o.windows for o in rules.overrides):
        raise AvailabilityError("bad_rule", "give weekly rules or date overrides with windows, or start_before")
    return JobAvailability(job_id, rules, start_before, now)


def availability_out(value: JobAvailability) -> AvailabilityOut:
    rules = value.rules
    return AvailabilityOut(
        job_id=value.job_id,
        time_zone=rules.time_zone,
        weekly=[WeeklyRuleIn(r.weekday, f"{r.window.start:%H:%M}", f"{r.window.end:%H:%M}") for r in rules.weekly],
        overrides=[
            DateOverrideIn(o.day, [WindowIn(f"{w.start:%H:%M}", f"{w.end:%H:%M}") for w in o.windows])
            for o in rules.overrides
        ],
        slot_minutes=int(rules.slot_length / timedelta(minutes=1)),
        seats=rules.seats,
        min_notice_minutes=int(rules.min_notice / timedelta(minutes=1)),
        horizon_days=int(rules.horizon / timedelta(days=1)),
        start_before=value.start_before.deadline if value.start_before is not None else None,
        updated_at=value.updated_at,
    )


class AvailabilityController(Controller):
    path = "/v1/jobs/{job_id:str}/availability"
    tags = ["scheduling"]  # noqa: RUF012  (Litestar reads tags as a class attribute)
    guards = [role_guard]  # noqa: RUF012
    opt = roles(RECRUITING)

    @put(
        opt=audited("availability_set"),
        status_code=HTTP_200_OK,
        responses={**errors(400, 401, 404), **_BAD_AVAILABILITY},
    )
    async def set_availability(
        self,
        job_id: FromPath[str],
        data: JSONBody[AvailabilityIn],
        bookings: NamedDependency[SqlBookings],
        settings: NamedDependency[Settings],
        principal: NamedDependency[Principal],
    ) -> AvailabilityOut:
        """When the job's interviews may be booked. Seats per slot default to SHANMIAN_SESSION_CAPACITY, the
        interviews this server runs at once. 422: `unknown_time_zone`, `bad_rule`, `past_deadline`. Bookings
        already made keep their times."""
        within_jobs(principal, job_id, "job", job_id)
        try:
            value = job_availability(job_id, data, settings.session_capacity, utc_now())
            return availability_out(await bookings.set_availability(value))
        except AvailabilityError as exc:
            raise _unprocessable(exc) from exc
        except JobNotFound:
            raise ApiError(HTTP_404_NOT_FOUND, "not_found", f"no job with id {job_id!r}") from None

    @get(opt=audited("availability_viewed"), responses=errors(401, 404))
    async def get_availability(
        self, job_id: FromPath[str], bookings: NamedDependency[SqlBookings], principal: NamedDependency[Principal]
    ) -> AvailabilityOut:
        within_jobs(principal, job_id, "job", job_id)
        found = await bookings.availability(job_id)
        if found is None:
            raise ApiError(HTTP_404_NOT_FOUND, "not_found", f"job {job_id!r} has no availability set")
        return availability_out(found)


def _local(at: datetime, zone: str) -> str:
    return at.astimezone(check_zone(zone)).isoformat()


def _shown_zone(tz: str | None, view: CandidateView) -> str:
    if tz is not None:
        try:
            check_zone(tz)
        except AvailabilityError as exc:
            raise _unprocessable(exc) from exc
        return tz
    if view.booking is not None:
        return view.booking.shown_zone
    return view.availability.rules.time_zone if view.availability is not None else "UTC"


def booking_out(row: BookingRow, zone: str) -> BookingOut:
    return BookingOut(
        id=row.id,
        interview_id=row.interview_id,
        status=row.status,
        start=row.slot_start,
        end=row.slot_end,
        local_start=_local(row.slot_start, zone),
        time_zone=zone,
        revision=row.revision,
        changed_at=row.changed_at,
    )


class BookingController(Controller):
    """The candidate's side; `token` is their interview's candidate token (the one in their join link)."""

    path = "/v1/interviews/{interview_id:str}/booking"
    tags = ["scheduling"]  # noqa: RUF012

    @staticmethod
    async def _view(bookings: SqlBookings, interview_id: str, token: str | None) -> CandidateView:
        view = await bookings.for_candidate(interview_id, token)
        if view is None:
            raise ApiError(
                HTTP_401_UNAUTHORIZED, "unauthorized", "this link is not valid; open the one from your e-mail"
            )
        return view

    @get("/slots", responses={**errors(401), **_BAD_TIME})
    async def list_slots(
        self,
        interview_id: FromPath[str],
        bookings: NamedDependency[SqlBookings],
        token: FromQuery[str | None] = None,
        tz: FromQuery[str | None] = None,
    ) -> SlotsOut:
        """The slots the candidate may book now, with seats left, their times also in `tz` (their zone), and their
        booking if they have one. In the "any time before" mode, no slots: whether they may start now, and why not."""
        view = await self._view(bookings, interview_id, token)
        zone = _shown_zone(tz, view)
        current = booking_out(view.booking, zone) if view.booking is not None else None
        now = utc_now()
        if view.availability is None:
            return SlotsOut("slots", zone, [], current, None, False, "No interview times have been set yet.")
        mode = view.availability.start_before
        if mode is not None:
            try:
                await bookings.may_start_now(mode, now)
            except BookingError as exc:
                return SlotsOut("start_before", zone, [], current, mode.deadline, False, str(exc))
            return SlotsOut("start_before", zone, [], current, mode.deadline, True, None)
        rules = view.availability.rules
        offered = await bookings.open_slots(rules, view.interview.job_id, slots(rules, now), now)
        listed = [
            SlotOut(o.slot.start, o.slot.end, _local(o.slot.start, zone), _local(o.slot.end, zone), o.seats_left)
            for o in offered
        ]
        return SlotsOut("slots", zone, listed, current, None, False, None)

    @get(responses={**errors(401, 404), **_BAD_TIME})
    async def get_booking(
        self,
        interview_id: FromPath[str],
        bookings: NamedDependency[SqlBookings],
        token: FromQuery[str | None] = None,
        tz: FromQuery[str | None] = None,
    ) -> BookingOut:
        view = await self._view(bookings, interview_id, token)
        if view.booking is None:
            raise ApiError(HTTP_404_NOT_FOUND, "not_found", "no interview has been booked yet")
        return booking_out(view.booking, _shown_zone(tz, view))

    @post("/hold", status_code=HTTP_201_CREATED, responses={**errors(400, 401, 409), **_BAD_TIME})
    async def hold(
        self,
        interview_id: FromPath[str],
        data: JSONBody[PickIn],
        bookings: NamedDependency[SqlBookings],
        token: FromQuery[str | None] = None,
    ) -> HoldOut:
        """Keep a seat of the slot for 10 minutes while the candidate confirms (then `POST .../booking` with the
        same start); a new hold replaces the candidate's earlier one."""
        view = await self._view(bookings, interview_id, token)
        try:
            seat = await bookings.hold(interview_id, data.start.astimezone(UTC), utc_now())
        except BookingError as exc:
            raise _booking_error(exc) from exc
        assert seat.hold_until is not None and view.availability is not None  # a hold needs both
        return HoldOut(seat.slot_start, seat.slot_start + view.availability.rules.slot_length, seat.hold_until)

    @post(status_code=HTTP_201_CREATED, responses={**errors(400, 401, 409), **_BAD_TIME})
    async def book(
        self,
        interview_id: FromPath[str],
        data: JSONBody[PickIn],
        bookings: NamedDependency[SqlBookings],
        token: FromQuery[str | None] = None,
    ) -> BookingOut:
        """Book one of the slots: the interview's `scheduled_at`, an `interview.scheduled` event and an e-mail with
        the calendar invitation, all at once. 422: `too_soon`, `beyond_horizon`, `not_offered`; 409: `slot_full`,
        `already_booked`, `interview_not_bookable`, `no_availability`."""
        view = await self._view(bookings, interview_id, token)
        zone = _shown_zone(data.time_zone, view)
        try:
            row = await bookings.book(interview_id, data.start.astimezone(UTC), zone, utc_now())
        except BookingError as exc:
            raise _booking_error(exc) from exc
        return booking_out(row, zone)

    @put(status_code=HTTP_200_OK, responses={**errors(400, 401, 404, 409), **_BAD_TIME})
    async def reschedule(
        self,
        interview_id: FromPath[str],
        data: JSONBody[PickIn],
        bookings: NamedDependency[SqlBookings],
        token: FromQuery[str | None] = None,
    ) -> BookingOut:
        """Move the booking to another slot: `interview.rescheduled`, and the invitation again with SEQUENCE one
        higher; its reminders are planned again. 409 `booking_cancelled` once it was cancelled."""
        view = await self._view(bookings, interview_id, token)
        try:
            row = await bookings.reschedule(interview_id, data.start.astimezone(UTC), data.time_zone, utc_now())
        except BookingError as exc:
            raise _booking_error(exc) from exc
        return booking_out(row, _shown_zone(data.time_zone, view))

    @post("/cancel", status_code=HTTP_200_OK, responses=errors(400, 401, 404, 409))
    async def cancel(
        self,
        interview_id: FromPath[str],
        bookings: NamedDependency[SqlBookings],
        token: FromQuery[str | None] = None,
        data: JSONBody[CancelIn | None] = None,
    ) -> BookingOut:
        """Cancel the booking: the seat is freed, `interview.cancelled`, a METHOD:CANCEL invitation, no reminders.
        The candidate may book again."""
        view = await self._view(bookings, interview_id, token)
        try:
            row = await bookings.cancel(interview_id, data.reason if data is not None else None, utc_now())
        except BookingError as exc:
            raise _booking_error(exc) from exc
        return booking_out(row, _shown_zone(None, view))

    @post("/start", status_code=HTTP_200_OK, responses={**errors(401, 409), **_BAD_TIME})
    async def start_now(
        self,
        interview_id: FromPath[str],
        bookings: NamedDependency[SqlBookings],
        settings: NamedDependency[Settings],
        token: FromQuery[str | None] = None,
    ) -> StartOut:
        """The "any time before" mode: the join link, if a seat is free now (409 `no_seat_now`) and the deadline
        is ahead (422 `past_deadline`)."""
        view = await self._view(bookings, interview_id, token)
        mode = view.availability.start_before if view.availability is not None else None
        if mode is None:
            raise ApiError(HTTP_409_CONFLICT, "not_start_before", "this interview is booked by time slot")
        if view.interview.status != InterviewStatus.SCHEDULED:
            raise ApiError(HTTP_409_CONFLICT, "interview_not_bookable", f"this interview is {view.interview.status}")
        try:
            await bookings.may_start_now(mode, utc_now())
        except BookingError as exc:
            raise _booking_error(exc) from exc
        return StartOut(join_url(settings.base_url, view.interview.id, token or ""))
