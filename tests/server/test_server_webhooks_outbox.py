"""The webhook outbox and its delivery worker against SQLite and a real PostgreSQL, with a real local receiver:
events written in the transaction of their change (once per transition), claims that two workers never share,
the retry schedule on a fake clock, 410, replay and an expired claim.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook
from test_server_store import interview, plan, turn
from webhook_receiver import Receiver

from dialogue.report import Report
from dialogue.scoring import score_session
from hr.webhook_retry import SCHEDULE
from hr.webhook_targets import TargetPolicy
from hr.webhooks import DeliveryAttempt, Outcome
from server.db.status import InterviewStatus
from server.db.store import Store
from server.db.tables import WebhookAttemptRow, WebhookEventRow
from server.settings import Settings
from server.webhooks.outbox import DeliveryState, ReplayRefused, WebhookOutbox
from server.webhooks.worker import CLAIM_LEASE, DeliveryWorker

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
LOOPBACK = TargetPolicy(allow_loopback=True)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return f"sqlite:///{tmp_path / 'store.db'}"


def sqlalchemy_url(url: str) -> str:
    return Settings.from_env({}, api_key="k", database_url=url).sqlalchemy_url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(sqlalchemy_url(database_url))
    # The PostgreSQL database serves the whole test session: start each test with no webhook rows of others.
    async with opened.engine.begin() as conn:
        for table in ("webhook_attempts", "webhook_deliveries", "webhook_events", "webhook_endpoints"):
            await conn.execute(text(f"DELETE FROM {table}"))
    yield opened
    await opened.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outbox(store: Store, clock: FakeClock) -> WebhookOutbox:
    box = WebhookOutbox(store, base_url="http://hr.example", clock=clock)
    store.listeners.append(box)
    return box


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


def worker(store: Store, clock: FakeClock) -> DeliveryWorker:
    return DeliveryWorker(store, LOOPBACK, clock=clock, rng=random.Random(7))


async def events(store: Store, key_prefix: str = "") -> list[WebhookEventRow]:
    async with AsyncSession(store.engine) as s:
        query = select(WebhookEventRow).where(WebhookEventRow.dedup_key.startswith(key_prefix))
        return list((await s.scalars(query.order_by(WebhookEventRow.created_at))).all())


async def test_each_transition_yields_one_event_with_its_deliveries(
    store: Store, outbox: WebhookOutbox, receiver: Receiver
) -> None:
    wanted = await outbox.add_endpoint(receiver.url, ["interview.started", "interview.completed", "report.ready"])
    other = await outbox.add_endpoint(receiver.url, ["interview.abandoned"])
    row = await interview(store)  # a ready job: plan.version_created, which neither endpoint wants
    await store.set_status(row.id, InterviewStatus.LIVE)
    await store.set_status(row.id, InterviewStatus.LIVE)  # a resumed session: live again, not started again
    await store.add_turn(row.id, turn(1))
    await store.set_status(row.id, InterviewStatus.COMPLETED, reason="finished")
    await store.set_status(row.id, InterviewStatus.ABANDONED)  # refused by the store: no event either
    await store.save_report(row.id, await _report(store, row.id))

    mine = await events(store, "")
    types = [json.loads(e.body)["type"] for e in mine if row.id in e.dedup_key or row.job_id in e.dedup_key]
    assert sorted(types) == sorted(["plan.version_created", "interview.started", "interview.completed", "report.ready"])
    started = next(e for e in mine if e.dedup_key == f"interview.started:{row.id}")
    body = json.loads(started.body)
    assert body["data"] == {"interview_id": row.id, "job_id": row.job_id, "candidate_id": row.candidate_id}
    assert body["timestamp"].endswith("Z")

    logs = await outbox.deliveries()
    assert {d.delivery.endpoint_id for d in logs} == {wanted.id}, "only the endpoint subscribed gets deliveries"
    assert sorted(d.event_type for d in logs) == ["interview.completed", "interview.started", "report.ready"]
    assert all(d.delivery.state == DeliveryState.PENDING for d in logs)
    assert await outbox.deliveries(other.id) == []


async def _report(store: Store, interview_id: str) -> Report:
    return await score_session(plan(), await store.turns(interview_id))


async def test_the_event_commits_with_its_change_or_not_at_all(store: Store, outbox: WebhookOutbox) -> None:
    class Broken:
        async def interview_status_changed(self, session: AsyncSession, interview_id: str, status: object) -> None:
            raise RuntimeError("the process died mid-transaction")

    woken: list[int] = []
    outbox.on_enqueued = lambda: woken.append(1)
    row = await interview(store)
    woken.clear()
    store.listeners.append(Broken())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        await store.set_status(row.id, InterviewStatus.LIVE)
    store.listeners.pop()
    got = await store.interview(row.id)
    assert got is not None and got.status == "scheduled", "the change rolled back"
    assert await events(store, f"interview.started:{row.id}") == [], "and its event with it"
    assert woken == [], "no worker is woken for a change that did not commit"
    await store.set_status(row.id, InterviewStatus.LIVE)
    assert len(await events(store, f"interview.started:{row.id}")) == 1
    assert woken == [1], "the worker is woken once the change commits"


async def test_two_workers_on_one_database_never_send_the_same_attempt(
    database_url: str, store: Store, outbox: WebhookOutbox, clock: FakeClock, receiver: Receiver
) -> None:
    receiver.delay_s = 0.02  # both workers are mid-round at once
    await outbox.add_endpoint(receiver.url, ["plan.version_created"])
    job = (await interview(store)).job_id
    for _ in range(24):
        await store.set_job_plan(job, plan(), source="hr")
    other_node = await Store.open(sqlalchemy_url(database_url))  # its own engine and connections, like a second node
    a, b = worker(store, clock), worker(other_node, clock)
    try:
        for _ in range(10):
            await asyncio.gather(a.run_once(), b.run_once(), a.run_once(), b.run_once())
        ids = [r.id for r in receiver.received]
        # 25: the job's first version, then 24 edits; each sent once, by one worker or the other.
        assert len(ids) == 25 and len(set(ids)) == len(ids)
        async with AsyncSession(store.engine) as s:
            assert await s.scalar(select(func.count()).select_from(WebhookAttemptRow)) == 25
        assert a.name != b.name
        assert {d.delivery.state for d in await outbox.deliveries()} == {DeliveryState.DELIVERED}
    finally:
        await a.aclose()
        await b.aclose()
        await other_node.close()


async def test_a_receiver_failing_five_times_gets_the_same_id_on_the_schedule(
    store: Store, outbox: WebhookOutbox, clock: FakeClock, receiver: Receiver
) -> None:
    receiver.answers = [(500, {}), (503, {"retry-after": "7200"}), (500, {}), (502, {}), (500, {})]
    endpoint = await outbox.add_endpoint(receiver.url, ["interview.started"])
    row = await interview(store)
    await store.set_status(row.id, InterviewStatus.LIVE)
    w = worker(store, clock)
    try:
        assert await w.run_once() == 1  # the first attempt is immediate
        for _ in range(5):
            assert await w.run_once() == 0, "nothing is due before its time"
            due = (await outbox.deliveries())[0].delivery.next_attempt_at
            assert due is not None
            clock.now = due
            assert await w.run_once() == 1
    finally:
        await w.aclose()
    assert len(receiver.received) == 6 and len({r.id for r in receiver.received}) == 1
    # Each attempt is signed afresh at its own (fake, hours later) time; the first is verifiable now.
    Webhook(endpoint.secret).verify(receiver.received[0].body, receiver.received[0].headers)
    assert len({r.headers["webhook-timestamp"] for r in receiver.received}) == 6
    log = (await outbox.deliveries())[0]
    assert log.delivery.state == DeliveryState.DELIVERED
    assert [a.outcome for a in log.attempts] == ["retrying"] * 5 + ["delivered"]
    assert [a.status_code for a in log.attempts] == [500, 503, 500, 502, 500, 200]
    assert log.attempts[0].response_head == "answer 1: 500"
    gaps = [b.at - a.at for a, b in zip(log.attempts, log.attempts[1:], strict=False)]
    for n, gap in enumerate(gaps, start=2):
        planned = SCHEDULE[n - 1]
        if n == 3:
            planned = max(planned, timedelta(hours=2))  # the 503 asked for two hours
        assert planned * 0.9 <= gap <= planned * 1.1, (n, gap)


async def test_410_disables_the_endpoint_and_replay_sends_the_same_id_again(
    store: Store, outbox: WebhookOutbox, clock: FakeClock, receiver: Receiver
) -> None:
    receiver.answers = [(410, {})]
    endpoint = await outbox.add_endpoint(receiver.url, ["interview.started", "interview.completed"])
    row = await interview(store)
    await store.set_status(row.id, InterviewStatus.LIVE)
    w = worker(store, clock)
    try:
        await w.run_once()
        assert (await outbox.endpoint(endpoint.id)).disabled_reason is not None
        await store.set_status(row.id, InterviewStatus.COMPLETED)
        assert {d.event_type for d in await outbox.deliveries()} == {"interview.started"}, "none for a disabled one"
        gone = (await outbox.deliveries())[0]
        assert gone.delivery.state == DeliveryState.GONE
        with pytest.raises(ReplayRefused, match="disabled"):
            await outbox.replay(gone.delivery.id)
        await outbox.set_enabled(endpoint.id, True)
        await outbox.replay(gone.delivery.id)
        assert await w.run_once() == 1
    finally:
        await w.aclose()
    assert [r.id for r in receiver.received] == [gone.delivery.event_id] * 2
    again = await outbox.delivery(gone.delivery.id)
    assert again.delivery.state == DeliveryState.DELIVERED
    assert [(a.attempt, a.outcome) for a in again.attempts] == [(1, "gone"), (2, "delivered")]


async def test_a_claim_whose_worker_died_is_taken_over_after_its_lease(
    store: Store, outbox: WebhookOutbox, clock: FakeClock, receiver: Receiver
) -> None:
    await outbox.add_endpoint(receiver.url, ["interview.started"])
    row = await interview(store)
    await store.set_status(row.id, InterviewStatus.LIVE)
    dead, alive = worker(store, clock), worker(store, clock)
    try:
        held = await dead.claim()  # claimed, then the node died before sending
        assert len(held) == 1 and await alive.claim() == []
        clock.advance(CLAIM_LEASE + timedelta(seconds=1))
        assert await alive.run_once() == 1
        assert len(receiver.received) == 1
        # The dead worker's late write is refused: the delivery moved on without it.
        late = DeliveryAttempt(held[0].message.id, "x", 1, clock(), Outcome.DELIVERED, 200, 0.1, "", None, None)
        assert await dead.record(held[0], late) is False
    finally:
        await dead.aclose()
        await alive.aclose()
    log = (await outbox.deliveries())[0]
    assert [a.attempt for a in log.attempts] == [1]


async def test_rotation_signs_with_both_secrets_for_a_day(
    store: Store, outbox: WebhookOutbox, clock: FakeClock, receiver: Receiver
) -> None:
    endpoint = await outbox.add_endpoint(receiver.url, ["interview.started"])
    rotated = await outbox.rotate_secret(endpoint.id)
    assert rotated.secret != endpoint.secret and rotated.previous_secret == endpoint.secret
    row = await interview(store)
    await store.set_status(row.id, InterviewStatus.LIVE)
    w = worker(store, clock)
    try:
        await w.run_once()
    finally:
        await w.aclose()
    (got,) = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (endpoint.secret, rotated.secret):
        Webhook(secret).verify(got.body, got.headers)


async def test_an_abandoned_interview_says_how_many_main_questions_were_answered(
    store: Store, outbox: WebhookOutbox, receiver: Receiver
) -> None:
    await outbox.add_endpoint(receiver.url, ["interview.abandoned"])
    row = await interview(store)
    await store.set_status(row.id, InterviewStatus.LIVE)
    await store.add_turn(row.id, turn(1))
    await store.set_status(row.id, InterviewStatus.ABANDONED, reason="candidate_left")
    (event,) = await events(store, f"interview.abandoned:{row.id}")
    body = json.loads(event.body)
    assert body["type"] == "interview.abandoned" and body["data"]["questions_answered"] == 1
    assert [d.event_type for d in await outbox.deliveries()] == ["interview.abandoned"]


def test_the_allowed_targets_setting_names_known_ranges_only() -> None:
    from server.settings import SettingsError
    from server.webhooks import target_policy

    policy = target_policy(Settings.from_env({"SHANMIAN_WEBHOOK_ALLOWED_TARGETS": "loopback, private"}, api_key="k"))
    assert policy == TargetPolicy(allow_loopback=True, allow_private=True, allow_link_local=False)
    assert target_policy(Settings.from_env({}, api_key="k")) == TargetPolicy()
    with pytest.raises(SettingsError, match="SHANMIAN_WEBHOOK_ALLOWED_TARGETS"):
        target_policy(Settings.from_env({"SHANMIAN_WEBHOOK_ALLOWED_TARGETS": "everything"}, api_key="k"))


async def test_deleting_an_endpoint_cancels_what_it_had_pending(
    store: Store, outbox: WebhookOutbox, clock: FakeClock, receiver: Receiver
) -> None:
    endpoint = await outbox.add_endpoint(receiver.url, ["interview.started"])
    row = await interview(store)
    await store.set_status(row.id, InterviewStatus.LIVE)
    await outbox.delete_endpoint(endpoint.id)
    w = worker(store, clock)
    try:
        assert await w.run_once() == 0
    finally:
        await w.aclose()
    (log,) = await outbox.deliveries(endpoint.id)
    assert log.delivery.state == DeliveryState.CANCELLED and receiver.received == []
    with pytest.raises(ReplayRefused, match="deleted"):
        await outbox.replay(log.delivery.id)
