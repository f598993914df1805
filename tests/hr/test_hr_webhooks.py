"""Delivery against a real HTTP receiver on 127.0.0.1, signatures checked with the Standard Webhooks reference library."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
from standardwebhooks import Webhook

from hr.webhook_events import InterviewStarted, ReportReady, WebhookMessage, message_for
from hr.webhook_retry import SCHEDULE
from hr.webhook_signing import EndpointSecrets, new_secret, rotate
from hr.webhook_targets import TargetPolicy
from hr.webhooks import RESPONSE_HEAD_BYTES, Delivery, Outcome, WebhookEndpoint, deliver, fan_out

LOOPBACK_OK = TargetPolicy(allow_loopback=True)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b"ok"


@dataclass(frozen=True, slots=True)
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP/1.1 server that gives the scripted answers in order, then 200s, and keeps what it was sent."""

    script: list[Answer]
    received: list[Received] = field(default_factory=list)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readline():
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, value = line.decode().split(":", 1)
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.received.append(Received(headers, body))
                answer = self.script.pop(0) if self.script else Answer(200)
                head = [f"HTTP/1.1 {answer.status} X", f"content-length: {len(answer.body)}"]
                head += [f"{k}: {v}" for k, v in answer.headers]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + answer.body)
                await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver(script=[])
    server = await asyncio.start_server(recv.handle, "127.0.0.1", 0)
    recv.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks/shanmian"
    async with server:
        yield recv
        server.close()


@dataclass
class FakeSleep:
    """Records each wait instead of waiting: a day of retries runs in milliseconds."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def real_now() -> datetime:
    # The reference verifier rejects timestamps more than 5 minutes from its own clock, so signing uses real time.
    return datetime.now(UTC)


def endpoint(url: str, secret: EndpointSecrets | None = None) -> WebhookEndpoint:
    events = frozenset({"report.ready", "interview.started"})
    return WebhookEndpoint(id="ep_1", url=url, secrets=secret or EndpointSecrets(new_secret()), event_types=events)


def report_ready() -> WebhookMessage:
    return message_for(
        ReportReady("iv_1", "job_1", "cand_1", "https://hr.example/v1/interviews/iv_1/report"), real_now()
    )


async def send(
    ep: WebhookEndpoint, message: WebhookMessage, sleep: FakeSleep, policy: TargetPolicy = LOOPBACK_OK
) -> Delivery:
    async with httpx.AsyncClient() as client:
        return await deliver(client, ep, message, policy=policy, clock=real_now, sleep=sleep, rng=random.Random(7))


async def test_five_failures_then_success_repeat_one_id_follow_the_schedule_and_verify(receiver: Receiver) -> None:
    receiver.script = [Answer(500, body=b"down for maintenance")] * 3 + [Answer(502), Answer(503)]
    ep, message, sleep = endpoint(receiver.url), report_ready(), FakeSleep()

    delivery = await send(ep, message, sleep)

    assert delivery.outcome is Outcome.DELIVERED
    assert [a.status_code for a in delivery.attempts] == [500, 500, 500, 502, 503, 200]
    assert [a.attempt for a in delivery.attempts] == [1, 2, 3, 4, 5, 6]
    assert len(receiver.received) == 6
    assert {r.headers["webhook-id"] for r in receiver.received} == {message.id}
    for got in receiver.received:
        payload = Webhook(ep.secrets.current).verify(got.body, got.headers)
        assert payload["type"] == "report.ready" and payload["data"]["interview_id"] == "iv_1"
    # Five waits, each the spec's step for the next attempt within the ±10 % jitter.
    expected = [step.total_seconds() for step in SCHEDULE[1:6]]
    assert len(sleep.waits) == 5
    for waited, step in zip(sleep.waits, expected, strict=True):
        assert step * 0.9 - 1 <= waited <= step * 1.1
    assert delivery.attempts[0].response_head == "down for maintenance"
    assert all(a.latency_s > 0 for a in delivery.attempts)
    assert delivery.attempts[-1].next_attempt_at is None


async def test_a_receiver_that_never_accepts_gets_ten_attempts_then_the_message_fails(receiver: Receiver) -> None:
    receiver.script = [Answer(500)] * 20
    sleep = FakeSleep()

    delivery = await send(endpoint(receiver.url), report_ready(), sleep)

    assert delivery.outcome is Outcome.FAILED
    assert len(delivery.attempts) == len(receiver.received) == 10
    assert len(sleep.waits) == 9
    assert sum(sleep.waits) == pytest.approx(sum(s.total_seconds() for s in SCHEDULE), rel=0.1)


async def test_410_disables_the_endpoint_at_once(receiver: Receiver) -> None:
    receiver.script = [Answer(410, body=b"unsubscribed")]
    sleep = FakeSleep()

    delivery = await send(endpoint(receiver.url), report_ready(), sleep)

    assert delivery.outcome is Outcome.GONE and delivery.disables_endpoint
    assert len(receiver.received) == 1 and sleep.waits == []


async def test_retry_after_is_waited_instead_of_the_shorter_step(receiver: Receiver) -> None:
    receiver.script = [Answer(429, headers=(("Retry-After", "120"),)), Answer(503, headers=(("Retry-After", "1"),))]
    sleep = FakeSleep()

    delivery = await send(endpoint(receiver.url), report_ready(), sleep)

    assert delivery.outcome is Outcome.DELIVERED
    # 120 s instead of ~5 s; then the 5-minute step, since a shorter Retry-After never shortens the schedule.
    assert 119 <= sleep.waits[0] <= 120
    assert 270 - 1 <= sleep.waits[1] <= 330


async def test_during_a_rotation_both_signatures_are_sent_and_each_secret_verifies(receiver: Receiver) -> None:
    old = EndpointSecrets(new_secret())
    rotated = rotate(old, new_secret(), real_now())
    message = report_ready()

    await send(endpoint(receiver.url, rotated), message, FakeSleep())

    got = receiver.received[0]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(old.current).verify(got.body, got.headers)
    Webhook(rotated.current).verify(got.body, got.headers)


async def test_a_tampered_body_does_not_verify(receiver: Receiver) -> None:
    ep = endpoint(receiver.url)
    await send(ep, report_ready(), FakeSleep())
    got = receiver.received[0]
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(ep.secrets.current).verify(got.body.replace(b"iv_1", b"iv_2"), got.headers)


async def test_only_the_first_kilobyte_of_an_answer_is_logged(receiver: Receiver) -> None:
    receiver.script = [Answer(500, body=b"x" * 50_000)]

    delivery = await send(endpoint(receiver.url), report_ready(), FakeSleep())

    assert len(delivery.attempts[0].response_head) == RESPONSE_HEAD_BYTES


async def test_a_redirect_is_not_followed_and_counts_as_a_failure(receiver: Receiver) -> None:
    receiver.script = [Answer(307, headers=(("Location", "http://169.254.169.254/latest/meta-data"),))]

    delivery = await send(endpoint(receiver.url), report_ready(), FakeSleep())

    assert [a.status_code for a in delivery.attempts] == [307, 200]
    assert len(receiver.received) == 2


async def test_a_loopback_receiver_is_refused_without_the_allow_setting_and_nothing_is_sent(receiver: Receiver) -> None:
    sleep = FakeSleep()

    delivery = await send(endpoint(receiver.url), report_ready(), sleep, policy=TargetPolicy())

    assert delivery.outcome is Outcome.REFUSED
    assert "loopback" in (delivery.attempts[0].error or "")
    assert receiver.received == [] and sleep.waits == []


async def test_an_unreachable_receiver_is_retried_with_the_error_logged(free_port: Callable[[], int]) -> None:
    url = f"http://127.0.0.1:{free_port()}/nothing-listens"
    sleep = FakeSleep()

    delivery = await send(endpoint(url), report_ready(), sleep)

    assert delivery.outcome is Outcome.FAILED and len(delivery.attempts) == 10
    assert all(a.status_code is None and a.error and "Connect" in a.error for a in delivery.attempts)


async def test_fan_out_reaches_only_enabled_endpoints_subscribed_to_the_type(receiver: Receiver) -> None:
    endpoints = [
        endpoint(receiver.url),
        WebhookEndpoint("ep_2", receiver.url, EndpointSecrets(new_secret()), frozenset({"report.ready"})),
        WebhookEndpoint(
            "ep_3", receiver.url, EndpointSecrets(new_secret()), frozenset({"interview.started"}), disabled=True
        ),
    ]
    message = message_for(InterviewStarted("iv_1", "job_1", "cand_1"), real_now())

    async with httpx.AsyncClient() as client:
        deliveries = await fan_out(
            client, endpoints, message, policy=LOOPBACK_OK, clock=real_now, sleep=FakeSleep(), rng=random.Random(1)
        )

    assert [d.endpoint_id for d in deliveries] == ["ep_1"]
    assert len(receiver.received) == 1


def test_an_endpoint_with_an_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match=r"interview\.exploded"):
        WebhookEndpoint(
            "ep_1", "https://93.184.216.34/", EndpointSecrets(new_secret()), frozenset({"interview.exploded"})
        )
