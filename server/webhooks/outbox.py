"""The webhook outbox in the database: endpoints, events written in the transaction of the change they report, and
the delivery log that the worker (server/webhooks/worker.py) works through and the REST API reads and replays.

An event row carries a unique key naming its transition (`interview.started:<id>`), so a change made twice (a
resumed session going live again) or retried yields one event; its deliveries are written with it, one per endpoint.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, Insert, func, select, update
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hr.invitations import Invitation
from hr.webhook_events import (
    CandidateInvited,
    EventPayload,
    InterviewAbandoned,
    InterviewCompleted,
    InterviewStarted,
    PlanVersionCreated,
    ReportReady,
    message_for,
)
from hr.webhook_signing import EndpointSecrets, new_secret, rotate
from hr.webhooks import WebhookEndpoint
from server.db.status import InterviewStatus
from server.db.store import Store
from server.db.tables import (
    InterviewRow,
    TurnRow,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
    WebhookEventRow,
)

Clock = Callable[[], datetime]
# Awaited in the transaction that writes an event, so that what follows from it commits or rolls back with it.
EventReaction = Callable[[AsyncSession, EventPayload, datetime], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class DeliveryState:
    PENDING = "pending"  # due at next_attempt_at (its endpoint enabled)
    DELIVERED = "delivered"
    FAILED = "failed"  # the retry schedule is spent
    GONE = "gone"  # the receiver answered 410; its endpoint is disabled
    REFUSED = "refused"  # the URL resolved to an address the target policy forbids
    CANCELLED = "cancelled"  # its endpoint was deleted before it was delivered


class EndpointNotFound(LookupError):
    pass


class DeliveryNotFound(LookupError):
    pass


class ReplayRefused(RuntimeError):
    """The delivery cannot be sent again now; the message says why."""


def endpoint_of(row: WebhookEndpointRow) -> WebhookEndpoint:
    """What hr.webhooks signs and sends with."""
    return WebhookEndpoint(
        id=row.id,
        url=row.url,
        secrets=EndpointSecrets(row.secret, row.previous_secret, row.previous_until),
        event_types=frozenset(row.event_types),
        disabled=row.disabled_reason is not None or row.deleted_at is not None,
    )


@dataclass(frozen=True, slots=True)
class DeliveryLog:
    """A delivery with its event's type and every attempt at it, oldest first."""

    delivery: WebhookDeliveryRow
    event_type: str
    attempts: Sequence[WebhookAttemptRow]


def _insert_once(session: AsyncSession) -> Insert:
    """An INSERT into the outbox that does nothing when the transition's event is there already (both databases)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(WebhookEventRow).on_conflict_do_nothing(index_elements=["dedup_key"])


class WebhookOutbox:
    """The Store's transition listener (events into the outbox) and every read and write of webhook rows."""

    def __init__(self, store: Store, *, base_url: str, clock: Clock = utc_now) -> None:
        self.store = store
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self._session = async_sessionmaker(store.engine, expire_on_commit=False)
        self.on_enqueued: Callable[[], None] = lambda: None  # the local worker's wake-up
        # E.g. an offer suggestion following a `review.submitted` (server/db/handoffs.py).
        self.reactions: list[EventReaction] = []

    # --- the outbox: called by the Store inside the transaction of each change --------------------------------

    async def enqueue(self, session: AsyncSession, key: str, payload: EventPayload, at: datetime) -> str | None:
        """Add the event of transition `key` and its deliveries to `session`'s transaction; None if already there."""
        message = message_for(payload, at)
        values = {
            "id": message.id,
            "type": message.event_type,
            "dedup_key": key,
            "body": message.body.decode(),
            "created_at": self.clock(),
        }
        result: CursorResult[Any] = await session.execute(_insert_once(session).values(**values))  # type: ignore[assignment]  # an INSERT's result is a CursorResult
        if result.rowcount != 1:
            return None
        endpoints = await session.scalars(
            select(WebhookEndpointRow).where(
                WebhookEndpointRow.disabled_reason.is_(None), WebhookEndpointRow.deleted_at.is_(None)
            )
        )
        now = self.clock()
        for endpoint in endpoints:
            if message.event_type in endpoint.event_types:
                session.add(
                    WebhookDeliveryRow(
                        id="wd_" + secrets.token_hex(12),
                        event_id=message.id,
                        endpoint_id=endpoint.id,
                        state=DeliveryState.PENDING,
                        attempts=0,
                        schedule_from=0,
                        next_attempt_at=now,
                        created_at=now,
                        updated_at=now,
                    )
                )
        # The worker is woken once the change commits (woken before, it would find nothing yet and sleep a poll).
        sqlalchemy_event.listen(session.sync_session, "after_commit", lambda _: self.on_enqueued(), once=True)
        for react in self.reactions:
            await react(session, payload, at)
        return message.id

    async def interview_status_changed(self, session: AsyncSession, interview_id: str, status: InterviewStatus) -> None:
        row = await session.get(InterviewRow, interview_id, populate_existing=True)
        if row is None:
            return
        ids = {"interview_id": row.id, "job_id": row.job_id, "candidate_id": row.candidate_id}
        if status == InterviewStatus.LIVE:
            started = row.started_at or self.clock()
            await self.enqueue(session, f"interview.started:{row.id}", InterviewStarted(**ids), started)
        elif status == InterviewStatus.COMPLETED:
            ended = row.ended_at or self.clock()
            duration = (ended - row.started_at).total_seconds() if row.started_at else 0.0
            await self.enqueue(
                session,
                f"interview.completed:{row.id}",
                InterviewCompleted(**ids, duration_s=round(duration, 3)),
                ended,
            )
        elif status == InterviewStatus.ABANDONED:
            answered = await session.scalar(
                select(func.count(func.distinct(TurnRow.main_question_id))).where(
                    TurnRow.interview_id == row.id, TurnRow.question_kind == "main"
                )
            )
            payload = InterviewAbandoned(**ids, questions_answered=int(answered or 0))
            await self.enqueue(session, f"interview.abandoned:{row.id}", payload, row.ended_at or self.clock())

    async def report_saved(self, session: AsyncSession, interview_id: str, version: int) -> None:
        row = await session.get(InterviewRow, interview_id)
        if row is None:
            return
        payload = ReportReady(
            interview_id=row.id,
            job_id=row.job_id,
            candidate_id=row.candidate_id,
            report_url=f"{self.base_url}/v1/interviews/{row.id}/report",
        )
        await self.enqueue(session, f"report.ready:{row.id}:{version}", payload, self.clock())

    async def plan_version_created(
        self, session: AsyncSession, job_id: str, version: int, source: str, note: str | None
    ) -> None:
        payload = PlanVersionCreated(plan_id=job_id, job_id=job_id, version=version, created_by=source, reason=note)
        await self.enqueue(session, f"plan.version_created:{job_id}:{version}", payload, self.clock())

    async def candidate_invited(self, session: AsyncSession, invitation: Invitation) -> None:
        """Called by the invitations store (server/db/invitations.py) in the transaction that writes `invitation`."""
        payload = CandidateInvited(
            invitation_id=invitation.id,
            job_id=invitation.job_id,
            candidate_id=invitation.candidate_id,
            language=invitation.language,
            expires_at=invitation.expires_at,
        )
        await self.enqueue(session, f"candidate.invited:{invitation.id}", payload, invitation.created_at)

    # --- endpoints ---------------------------------------------------------------------------------------

    async def add_endpoint(self, url: str, event_types: Sequence[str], description: str = "") -> WebhookEndpointRow:
        row = WebhookEndpointRow(
            id="we_" + secrets.token_hex(12),
            url=url,
            event_types=sorted(set(event_types)),
            description=description,
            secret=new_secret(),
            created_at=self.clock(),
        )
        endpoint_of(row)  # refuses unknown event types before anything is stored
        async with self._session() as s, s.begin():
            s.add(row)
        return row

    async def endpoints(self) -> Sequence[WebhookEndpointRow]:
        query = (
            select(WebhookEndpointRow)
            .where(WebhookEndpointRow.deleted_at.is_(None))
            .order_by(WebhookEndpointRow.created_at, WebhookEndpointRow.id)
        )
        async with self._session() as s:
            return (await s.scalars(query)).all()

    async def endpoint(self, endpoint_id: str) -> WebhookEndpointRow:
        async with self._session() as s:
            row = await s.get(WebhookEndpointRow, endpoint_id)
        if row is None or row.deleted_at is not None:
            raise EndpointNotFound(endpoint_id)
        return row

    async def _change_endpoint(
        self, endpoint_id: str, change: Callable[[WebhookEndpointRow], None]
    ) -> WebhookEndpointRow:
        async with self._session() as s, s.begin():
            row = await s.get(WebhookEndpointRow, endpoint_id, with_for_update=True)
            if row is None or row.deleted_at is not None:
                raise EndpointNotFound(endpoint_id)
            change(row)
        return row

    async def delete_endpoint(self, endpoint_id: str) -> None:
        """Nothing more is sent to it (its pending deliveries are cancelled); its log stays readable by delivery id."""
        now = self.clock()
        async with self._session() as s, s.begin():
            row = await s.get(WebhookEndpointRow, endpoint_id, with_for_update=True)
            if row is None or row.deleted_at is not None:
                raise EndpointNotFound(endpoint_id)
            row.deleted_at = now
            await s.execute(
                update(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.endpoint_id == endpoint_id, WebhookDeliveryRow.state == DeliveryState.PENDING)
                .values(state=DeliveryState.CANCELLED, next_attempt_at=None, updated_at=now)
            )

    async def rotate_secret(self, endpoint_id: str) -> WebhookEndpointRow:
        """A new secret; the one it replaces signs too for the next 24 h."""

        def rotated(row: WebhookEndpointRow) -> None:
            now = self.clock()
            new = rotate(EndpointSecrets(row.secret, row.previous_secret, row.previous_until), new_secret(), now)
            row.secret, row.previous_secret, row.previous_until = new.current, new.previous, new.previous_until

        return await self._change_endpoint(endpoint_id, rotated)

    async def set_enabled(self, endpoint_id: str, enabled: bool, reason: str = "disabled over the API") -> None:
        def change(row: WebhookEndpointRow) -> None:
            row.disabled_reason = None if enabled else reason

        await self._change_endpoint(endpoint_id, change)

    # --- the delivery log -----------------------------------------------------------------------------------

    async def deliveries(self, endpoint_id: str | None = None, limit: int = 100) -> list[DeliveryLog]:
        """The newest deliveries first, each with its attempts."""
        query = (
            select(WebhookDeliveryRow, WebhookEventRow.type)
            .join(WebhookEventRow, WebhookEventRow.id == WebhookDeliveryRow.event_id)
            .order_by(WebhookDeliveryRow.created_at.desc(), WebhookDeliveryRow.id)
            .limit(limit)
        )
        if endpoint_id is not None:
            query = query.where(WebhookDeliveryRow.endpoint_id == endpoint_id)
        async with self._session() as s:
            rows = (await s.execute(query)).all()
            ids = [d.id for d, _ in rows]
            attempts = (
                await s.scalars(
                    select(WebhookAttemptRow)
                    .where(WebhookAttemptRow.delivery_id.in_(ids))
                    .order_by(WebhookAttemptRow.delivery_id, WebhookAttemptRow.attempt)
                )
            ).all()
        by_delivery: dict[str, list[WebhookAttemptRow]] = {}
        for a in attempts:
            by_delivery.setdefault(a.delivery_id, []).append(a)
        return [DeliveryLog(d, event_type, by_delivery.get(d.id, [])) for d, event_type in rows]

    async def delivery(self, delivery_id: str) -> DeliveryLog:
        async with self._session() as s:
            found = (
                await s.execute(
                    select(WebhookDeliveryRow, WebhookEventRow.type)
                    .join(WebhookEventRow, WebhookEventRow.id == WebhookDeliveryRow.event_id)
                    .where(WebhookDeliveryRow.id == delivery_id)
                )
            ).first()
            if found is None:
                raise DeliveryNotFound(delivery_id)
            attempts = (
                await s.scalars(
                    select(WebhookAttemptRow)
                    .where(WebhookAttemptRow.delivery_id == delivery_id)
                    .order_by(WebhookAttemptRow.attempt)
                )
            ).all()
        return DeliveryLog(found[0], found[1], attempts)

    async def replay(self, delivery_id: str) -> None:
        """Send the delivery again at once, with the same `webhook-id`, on a fresh retry schedule."""
        now = self.clock()
        async with self._session() as s, s.begin():
            row = await s.get(WebhookDeliveryRow, delivery_id, with_for_update=True)
            if row is None:
                raise DeliveryNotFound(delivery_id)
            endpoint = await s.get(WebhookEndpointRow, row.endpoint_id)
            if endpoint is None or endpoint.deleted_at is not None:
                raise ReplayRefused("its endpoint was deleted")
            if endpoint.disabled_reason is not None:
                raise ReplayRefused(
                    f"its endpoint is disabled ({endpoint.disabled_reason}); enable it with "
                    f"POST /v1/webhooks/endpoints/{endpoint.id}/enable first"
                )
            if row.claimed_until is not None and row.claimed_until > now:
                raise ReplayRefused("it is being sent right now; read the log again in a moment")
            await s.execute(
                update(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.id == delivery_id)
                .values(
                    state=DeliveryState.PENDING,
                    schedule_from=WebhookDeliveryRow.attempts,
                    next_attempt_at=now,
                    updated_at=now,
                )
            )
        self.on_enqueued()
