"""Webhook delivery: POST a signed message to an endpoint, log every attempt, retry on the schedule until it lands.

The HTTP client, the wall clock, the sleep and the jitter's random source come from the caller, so a test runs a
day of retries at once and a database outbox can drive single attempts (`attempt_delivery`) from its own queue.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import httpx

from hr.webhook_events import EVENT_TYPES, WebhookMessage
from hr.webhook_retry import delay_before, retry_after
from hr.webhook_signing import EndpointSecrets, signed_headers
from hr.webhook_targets import TargetPolicy, TargetRefusedError, check_target

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]

# What the log keeps of a receiver's answer: enough to read an error page, not enough to store someone's dump.
RESPONSE_HEAD_BYTES = 1024
# A receiver should answer at once and do its work later; a slow one is retried rather than waited on.
REQUEST_TIMEOUT_S = 15.0
USER_AGENT = "Shanmian-Webhooks/1.0"


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """A receiver registered by an integrator: where to POST, how to sign, which event types it wants."""

    id: str
    url: str
    secrets: EndpointSecrets
    event_types: frozenset[str]
    disabled: bool = False

    def __post_init__(self) -> None:
        unknown = self.event_types - EVENT_TYPES
        if unknown:
            raise ValueError(f"unknown webhook event types: {', '.join(sorted(unknown))}")

    def wants(self, event_type: str) -> bool:
        return not self.disabled and event_type in self.event_types


class Outcome(StrEnum):
    DELIVERED = "delivered"  # a 2xx answer
    RETRYING = "retrying"  # failed; another attempt is planned
    FAILED = "failed"  # failed and the schedule is spent
    GONE = "gone"  # 410: the receiver asked to be removed, so the endpoint is disabled
    REFUSED = "refused"  # the URL resolves to an address the target policy forbids; nothing was sent


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One line of the delivery log."""

    message_id: str
    endpoint_id: str
    attempt: int
    at: datetime
    outcome: Outcome
    status_code: int | None
    latency_s: float
    response_head: str
    error: str | None
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """Every attempt at one message to one endpoint, the last one deciding."""

    endpoint_id: str
    message_id: str
    attempts: tuple[DeliveryAttempt, ...]

    @property
    def outcome(self) -> Outcome:
        return self.attempts[-1].outcome

    @property
    def disables_endpoint(self) -> bool:
        return self.outcome is Outcome.GONE


@dataclass(frozen=True, slots=True)
class _Answer:
    status_code: int | None
    head: str
    error: str | None
    retry_after: str | None
    latency_s: float


async def _post(client: httpx.AsyncClient, url: str, headers: dict[str, str], body: bytes) -> _Answer:
    started = time.perf_counter()
    try:
        # Redirects are not followed: a 3xx to an internal address would walk around the target policy.
        async with client.stream(
            "POST", url, content=body, headers=headers, timeout=REQUEST_TIMEOUT_S, follow_redirects=False
        ) as response:
            head = bytearray()
            async for chunk in response.aiter_bytes():
                head += chunk
                if len(head) >= RESPONSE_HEAD_BYTES:
                    break
            return _Answer(
                status_code=response.status_code,
                head=head[:RESPONSE_HEAD_BYTES].decode("utf-8", errors="replace"),
                error=None,
                retry_after=response.headers.get("retry-after"),
                latency_s=time.perf_counter() - started,
            )
    except httpx.HTTPError as exc:
        return _Answer(None, "", f"{type(exc).__name__}: {exc}", None, time.perf_counter() - started)


async def attempt_delivery(
    client: httpx.AsyncClient,
    endpoint: WebhookEndpoint,
    message: WebhookMessage,
    attempt: int,
    *,
    now: datetime,
    policy: TargetPolicy,
    rng: random.Random,
) -> DeliveryAttempt:
    """Send attempt number `attempt` (1 is the first) and say what happened and when to try next."""

    def logged(outcome: Outcome, answer: _Answer, next_at: datetime | None = None) -> DeliveryAttempt:
        return DeliveryAttempt(
            message_id=message.id,
            endpoint_id=endpoint.id,
            attempt=attempt,
            at=now,
            outcome=outcome,
            status_code=answer.status_code,
            latency_s=answer.latency_s,
            response_head=answer.head,
            error=answer.error,
            next_attempt_at=next_at,
        )

    try:
        # Checked at every attempt, not only at registration: the host's addresses can change in between.
        await check_target(endpoint.url, policy)
    except TargetRefusedError as exc:
        return logged(Outcome.REFUSED, _Answer(None, "", str(exc), None, 0.0))
    except OSError as exc:
        answer = _Answer(None, "", f"{type(exc).__name__}: {exc}", None, 0.0)
    else:
        headers = signed_headers(endpoint.secrets, message.id, now, message.body)
        headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
        answer = await _post(client, endpoint.url, headers, message.body)
    if answer.status_code is not None and 200 <= answer.status_code < 300:
        return logged(Outcome.DELIVERED, answer)
    if answer.status_code == 410:
        return logged(Outcome.GONE, answer)
    delay = delay_before(attempt + 1, rng, retry_after(answer.retry_after, now))
    if delay is None:
        return logged(Outcome.FAILED, answer)
    return logged(Outcome.RETRYING, answer, now + delay)


async def deliver(
    client: httpx.AsyncClient,
    endpoint: WebhookEndpoint,
    message: WebhookMessage,
    *,
    policy: TargetPolicy,
    clock: Clock,
    sleep: Sleep,
    rng: random.Random,
) -> Delivery:
    """Attempt until delivered, refused, gone, or the schedule is spent; the same message id every time."""
    attempts: list[DeliveryAttempt] = []
    while True:
        attempt = await attempt_delivery(
            client, endpoint, message, len(attempts) + 1, now=clock(), policy=policy, rng=rng
        )
        attempts.append(attempt)
        if attempt.next_attempt_at is None:
            return Delivery(endpoint.id, message.id, tuple(attempts))
        await sleep(max((attempt.next_attempt_at - clock()) / timedelta(seconds=1), 0.0))


async def fan_out(
    client: httpx.AsyncClient,
    endpoints: Iterable[WebhookEndpoint],
    message: WebhookMessage,
    *,
    policy: TargetPolicy,
    clock: Clock,
    sleep: Sleep,
    rng: random.Random,
) -> tuple[Delivery, ...]:
    """Deliver one message to every enabled endpoint subscribed to its type, concurrently."""
    wanted = [e for e in endpoints if e.wants(message.event_type)]
    return tuple(
        await asyncio.gather(
            *(deliver(client, e, message, policy=policy, clock=clock, sleep=sleep, rng=rng) for e in wanted)
        )
    )
