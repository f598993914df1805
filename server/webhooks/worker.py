"""The delivery worker: claims due deliveries from the database, sends each attempt with hr.webhooks, logs it and
plans the next; any number of nodes may run one on the same database.

A claim is a compare-and-set on the delivery row (`claimed_by`, with a lease that expires should its node die); on
PostgreSQL the candidates are read `FOR UPDATE SKIP LOCKED` so nodes do not queue on each other's rows. An attempt
is logged under a unique (delivery, attempt) key, so no attempt is recorded twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from hr.webhook_events import WebhookMessage
from hr.webhook_targets import TargetPolicy
from hr.webhooks import REQUEST_TIMEOUT_S, DeliveryAttempt, Outcome, attempt_delivery
from server.db.store import Store
from server.db.tables import WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow, WebhookEventRow
from server.polling import PollingWorker
from server.webhooks.outbox import Clock, DeliveryState, endpoint_of, utc_now

log = logging.getLogger(__name__)

# A claimed delivery not logged within this long is free again: its node died mid-attempt (a request is cut at 15 s).
CLAIM_LEASE = timedelta(seconds=REQUEST_TIMEOUT_S * 4)
BATCH = 20  # deliveries one worker sends at once
POLL_S = 1.0  # how often the database is asked for due deliveries when nothing woke the worker

_FINAL = {
    Outcome.DELIVERED: DeliveryState.DELIVERED,
    Outcome.FAILED: DeliveryState.FAILED,
    Outcome.GONE: DeliveryState.GONE,
    Outcome.REFUSED: DeliveryState.REFUSED,
    Outcome.RETRYING: DeliveryState.PENDING,
}


@dataclass(frozen=True, slots=True)
class Claimed:
    """One delivery this worker holds, with what it needs to send it."""

    delivery_id: str
    attempt: int  # the attempt number in the log (1 is the first)
    schedule_attempt: int  # its place in the retry schedule (a replay starts the schedule again)
    message: WebhookMessage
    endpoint: WebhookEndpointRow


class DeliveryWorker(PollingWorker):
    """Sends what the outbox holds. `clock`, `rng` and the HTTP client are injectable, `run_once` drives one round
    without the loop, and `time_scale` shrinks every retry delay (tests run the day-long schedule in seconds)."""

    def __init__(
        self,
        store: Store,
        policy: TargetPolicy,
        *,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        client: httpx.AsyncClient | None = None,
        poll_s: float = POLL_S,
        time_scale: float = 1.0,
    ) -> None:
        super().__init__("webhook worker", "wk", poll_s)
        self.store = store
        self.policy = policy
        self.clock = clock
        self.rng = rng or random.Random()
        self.time_scale = time_scale
        self._session = async_sessionmaker(store.engine, expire_on_commit=False)
        self._own_client = client is None
        self._client = client or httpx.AsyncClient()

    async def aclose(self) -> None:
        await super().aclose()
        if self._own_client:
            await self._client.aclose()

    async def run_once(self) -> int:
        """Claim what is due, send each attempt, log it; returns how many attempts were made."""
        claimed = await self.claim()
        if claimed:
            await asyncio.gather(*(self._send(c) for c in claimed))
        return len(claimed)

    async def claim(self, limit: int = BATCH) -> list[Claimed]:
        now = self.clock()
        free = or_(WebhookDeliveryRow.claimed_until.is_(None), WebhookDeliveryRow.claimed_until < now)
        due = (
            select(WebhookDeliveryRow.id)
            .join(WebhookEndpointRow, WebhookEndpointRow.id == WebhookDeliveryRow.endpoint_id)
            .where(
                WebhookDeliveryRow.state == DeliveryState.PENDING,
                WebhookDeliveryRow.next_attempt_at <= now,
                free,
                WebhookEndpointRow.disabled_reason.is_(None),
                WebhookEndpointRow.deleted_at.is_(None),
            )
            .order_by(WebhookDeliveryRow.next_attempt_at)
            .limit(limit)
            # PostgreSQL: rows another node is claiming are skipped, not waited on (SQLite ignores this; its
            # writers take turns, and the compare-and-set below decides).
            .with_for_update(skip_locked=True, of=WebhookDeliveryRow)
        )
        claimed: list[Claimed] = []
        async with self._session() as s, s.begin():
            for delivery_id in (await s.scalars(due)).all():
                took: CursorResult[Any] = await s.execute(  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
                    update(WebhookDeliveryRow)
                    .where(
                        WebhookDeliveryRow.id == delivery_id, WebhookDeliveryRow.state == DeliveryState.PENDING, free
                    )
                    .values(claimed_by=self.name, claimed_until=now + CLAIM_LEASE)
                )
                if took.rowcount != 1:
                    continue  # another worker took it between the read and this write
                row = await s.get(WebhookDeliveryRow, delivery_id, populate_existing=True)
                assert row is not None
                event = await s.get(WebhookEventRow, row.event_id)
                endpoint = await s.get(WebhookEndpointRow, row.endpoint_id)
                assert event is not None and endpoint is not None
                claimed.append(
                    Claimed(
                        delivery_id=row.id,
                        attempt=row.attempts + 1,
                        schedule_attempt=row.attempts - row.schedule_from + 1,
                        message=WebhookMessage(event.id, event.type, event.body.encode()),
                        endpoint=endpoint,
                    )
                )
        return claimed

    async def _send(self, claimed: Claimed) -> None:
        try:
            result = await attempt_delivery(
                self._client,
                endpoint_of(claimed.endpoint),
                claimed.message,
                claimed.schedule_attempt,
                now=self.clock(),
                policy=self.policy,
                rng=self.rng,
            )
        except Exception as exc:  # a bug or an unreadable endpoint row must not stop the worker
            log.exception("webhook delivery %s failed to run", claimed.delivery_id)
            result = DeliveryAttempt(
                claimed.message.id,
                claimed.endpoint.id,
                claimed.schedule_attempt,
                self.clock(),
                Outcome.FAILED,
                None,
                0.0,
                "",
                f"{type(exc).__name__}: {exc}",
                None,
            )
        await self.record(claimed, result)

    def _scaled(self, at: datetime, next_at: datetime | None) -> datetime | None:
        if next_at is None or self.time_scale == 1.0:
            return next_at
        return at + (next_at - at) * self.time_scale

    async def record(self, claimed: Claimed, result: DeliveryAttempt) -> bool:
        """Log the attempt and move the delivery on, if this worker still holds it; returns whether it did."""
        next_at = self._scaled(result.at, result.next_attempt_at)
        state = _FINAL[result.outcome]
        try:
            async with self._session() as s, s.begin():
                moved: CursorResult[Any] = await s.execute(  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
                    update(WebhookDeliveryRow)
                    .where(WebhookDeliveryRow.id == claimed.delivery_id, WebhookDeliveryRow.claimed_by == self.name)
                    .values(
                        state=state,
                        attempts=claimed.attempt,
                        next_attempt_at=next_at,
                        claimed_by=None,
                        claimed_until=None,
                        last_status_code=result.status_code,
                        updated_at=self.clock(),
                    )
                )
                if moved.rowcount != 1:
                    log.warning(
                        "webhook delivery %s: the claim expired before its attempt was logged", claimed.delivery_id
                    )
                    return False
                s.add(
                    WebhookAttemptRow(
                        delivery_id=claimed.delivery_id,
                        attempt=claimed.attempt,
                        at=result.at,
                        outcome=result.outcome.value,
                        status_code=result.status_code,
                        latency_s=round(result.latency_s, 6),
                        response_head=result.response_head,
                        error=result.error,
                        next_attempt_at=next_at,
                    )
                )
                if result.outcome is Outcome.GONE:
                    await s.execute(
                        update(WebhookEndpointRow)
                        .where(WebhookEndpointRow.id == claimed.endpoint.id)
                        .values(disabled_reason=f"the receiver answered 410 Gone at {result.at.isoformat()}")
                    )
        except IntegrityError:
            log.warning("webhook delivery %s: attempt %d was logged already", claimed.delivery_id, claimed.attempt)
            return False
        return True
