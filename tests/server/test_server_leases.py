"""Leases on live interviews, on a fresh SQLite file and a fresh PostgreSQL database: a take gives a fence and a
takeover raises it, renewal holds it, every fenced write (turn, status, report, recording row) under a stale fence
is refused and writes nothing, and the sweeper resolves an interview whose node died as abandoned exactly once,
even with two sweepers (two nodes' stores) at once, but never one still within the reconnect grace or taken back
by a candidate; interviews live before the migration are resolved the same way. A live session whose interview
was taken over stops without writing, publishing or abandoning, and closes its connection with `session_closed`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from transport_testkit import memory_pair

from dialogue.interviewer import Interviewer, InterviewerModels
from dialogue.plan import Requisition, build_plan
from dialogue.report import Recommendation, Report, ScorerInfo
from dialogue.session import AnswerFinished, QuestionKind, Turn
from server.bus import Bus, make_bus
from server.db.leases import Fence, HeldLease, LeaseLost, Leases
from server.db.migrate import alembic_config
from server.db.status import InterviewStatus, RecordingStatus
from server.db.store import Store
from server.db.tables import CandidateRow, InterviewRow, JobRow, WebhookEventRow
from server.settings import Settings
from server.stream.lease_sweeper import NODE_LOST, LeaseSweeper
from server.stream.live import LiveInterview
from server.stream.transport import Connection
from server.webhooks.outbox import WebhookOutbox

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
LEASE_S = 15.0
GRACE_S = 60.0
PLAN = build_plan(Requisition("Backend engineer", "", ("Python", "SQL"), "en"))


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("fresh_postgres"))
    return f"sqlite:///{tmp_path / 'leases.db'}"


async def open_store(database_url: str) -> Store:
    """A node's store, with the webhook outbox listening as the server has it."""
    store = await Store.open(Settings.from_env({}, api_key="k", database_url=database_url).sqlalchemy_url)
    store.listeners.append(WebhookOutbox(store, base_url="http://hr.example"))
    return store


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_store(database_url)
    yield opened
    await opened.close()


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    memory = make_bus(Settings.from_env({}, api_key="k"))
    async with memory.plugin:
        yield memory


class Clock:
    """A clock the test moves: leases expire without waiting for them."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def leases_on(store: Store, node: str, clock: Callable[[], datetime]) -> Leases:
    return Leases(store.engine, LEASE_S, node=node, clock=clock)


async def live_interview(store: Store) -> str:
    key = uuid.uuid4().hex[:20]
    await store.add_job(JobRow(id=f"j{key}", title="t", description="", requirements=[], language="en",
                               pass_threshold=6.0, plan={}))  # fmt: skip
    await store.add_candidate(CandidateRow(id=f"c{key}", name="Lease Test", email=None, resume_text=None))
    await store.add_interview(
        InterviewRow(
            id=f"i{key}",
            job_id=f"j{key}",
            candidate_id=f"c{key}",
            mode="text",
            status=InterviewStatus.SCHEDULED,
            candidate_token=uuid.uuid4().hex,
            observer_token=uuid.uuid4().hex,
        )
    )
    await store.set_status(f"i{key}", InterviewStatus.LIVE)
    return f"i{key}"


def turn(seq: int, answer: str) -> Turn:
    return Turn(seq, f"q{seq}", f"q{seq}", QuestionKind.MAIN, "Question?", answer, None, None)


def report() -> Report:
    return Report(
        overall=5.0, recommendation=Recommendation.HOLD, needs_human_review=False, dimensions=(), answers=(),
        strengths=(), weaknesses=(), suggestions=(), scored_by="rules", scorer=ScorerInfo("none", None, "v1"),
        pass_threshold=6.0, language="en", answered_questions=1, total_questions=1,
    )  # fmt: skip


async def abandoned_events(store: Store, interview_id: str) -> int:
    async with AsyncSession(store.engine) as s:
        query = select(func.count()).where(WebhookEventRow.dedup_key == f"interview.abandoned:{interview_id}")
        return int(await s.scalar(query) or 0)


def closed_events(history: list[bytes]) -> list[dict[str, object]]:
    return [m for m in map(msgspec.json.decode, history) if isinstance(m, dict) and m.get("type") == "closed"]


async def test_a_take_gives_the_first_fence_and_a_takeover_by_another_node_raises_it(store: Store) -> None:
    iid = await live_interview(store)
    clock = Clock()
    a, b = leases_on(store, "node-a", clock), leases_on(store, "node-b", clock)

    first = await a.take(iid)
    second = await b.take(iid)

    assert (first, second) == (Fence(iid, 1), Fence(iid, 2))
    lease = await a.lease(iid)
    assert lease is not None and (lease.node, lease.fence) == ("node-b", 2)
    assert lease.expires_at == clock.now + timedelta(seconds=LEASE_S)


async def test_first_takes_racing_from_two_nodes_get_distinct_fences(database_url: str) -> None:
    stores = [await open_store(database_url) for _ in range(2)]
    try:
        iid = await live_interview(stores[0])
        fences = await asyncio.gather(*(leases_on(s, f"node-{i}", Clock()).take(iid) for i, s in enumerate(stores)))
        assert sorted(f.token for f in fences) == [1, 2]
    finally:
        for s in stores:
            await s.close()


async def test_renewal_pushes_the_expiry_on_and_fails_once_another_node_took_over(store: Store) -> None:
    iid = await live_interview(store)
    clock = Clock()
    a, b = leases_on(store, "node-a", clock), leases_on(store, "node-b", clock)
    mine = await a.take(iid)

    clock.advance(10)
    await a.renew(mine)
    lease = await a.lease(iid)
    assert lease is not None and lease.expires_at == clock.now + timedelta(seconds=LEASE_S)

    await b.take(iid)
    with pytest.raises(LeaseLost):
        await a.renew(mine)
    lease = await a.lease(iid)
    assert lease is not None and lease.node == "node-b", "the failed renewal changed nothing"


async def test_writes_under_a_stale_fence_are_refused_and_leave_nothing_behind(store: Store) -> None:
    iid = await live_interview(store)
    clock = Clock()
    stale = await leases_on(store, "node-a", clock).take(iid)
    await store.add_turn(iid, turn(1, "First answer, from node A."), fence=stale)
    current = await leases_on(store, "node-b", clock).take(iid)

    with pytest.raises(LeaseLost):
        await store.add_turn(iid, turn(2, "Node A's late answer."), fence=stale)
    with pytest.raises(LeaseLost):
        await store.set_status(iid, InterviewStatus.ABANDONED, reason="candidate_left", fence=stale)
    with pytest.raises(LeaseLost):
        await store.save_report(iid, report(), fence=stale)
    with pytest.raises(LeaseLost):
        await store.update_recording(iid, fence=stale, status=RecordingStatus.COMPLETE, duration_s=1.0)

    assert [t.answer for t in await store.turns(iid)] == ["First answer, from node A."]
    row = await store.interview(iid)
    assert row is not None and row.status == InterviewStatus.LIVE and row.report is None
    assert await store.report_versions(iid) == [] and await abandoned_events(store, iid) == 0
    assert await store.recording(iid) is None

    # The holder of the newest fence writes the same seq the stale node was refused.
    await store.add_turn(iid, turn(2, "Second answer, on node B."), fence=current)
    await store.save_report(iid, report(), fence=current)
    assert await store.set_status(iid, InterviewStatus.COMPLETED, reason="completed", fence=current)
    assert [t.seq for t in await store.turns(iid)] == [1, 2]
    assert [t.answer for t in await store.turns(iid)][-1] == "Second answer, on node B."


async def test_two_sweepers_at_once_abandon_an_interview_whose_node_died_exactly_once(
    database_url: str, bus: Bus
) -> None:
    node_a, node_b, node_c = [await open_store(database_url) for _ in range(3)]
    try:
        clock = Clock()
        iid = await live_interview(node_a)
        await node_a.add_turn(
            iid, turn(1, "Answered before the node died."), fence=await leases_on(node_a, "a", clock).take(iid)
        )
        clock.advance(LEASE_S + GRACE_S + 1)  # node A stopped renewing a grace period ago
        sweepers = [
            LeaseSweeper(leases_on(s, name, clock), s, bus, grace_s=GRACE_S)
            for s, name in ((node_b, "b"), (node_c, "c"))
        ]

        resolved = await asyncio.gather(*(sweeper.sweep() for sweeper in sweepers))

        assert sorted(iid for one in resolved for iid in one) == [iid], "one sweeper resolved it, once"
        row = await node_b.interview(iid)
        assert row is not None and (row.status, row.end_reason) == (InterviewStatus.ABANDONED, NODE_LOST)
        assert await abandoned_events(node_b, iid) == 1
        assert [m["reason"] for m in closed_events(await bus.history(iid))] == ["abandoned"]
        assert [t.answer for t in await node_b.turns(iid)] == ["Answered before the node died."]
        assert await sweepers[0].sweep() == [] and await sweepers[1].sweep() == [], "nothing twice"
    finally:
        for s in (node_a, node_b, node_c):
            await s.close()


async def test_the_sweeper_leaves_interviews_within_the_grace_or_still_renewed(store: Store, bus: Bus) -> None:
    clock = Clock()
    holder = leases_on(store, "a", clock)
    renewed, recent = await live_interview(store), await live_interview(store)
    renewed_fence = await holder.take(renewed)
    await holder.take(recent)
    sweeper = LeaseSweeper(leases_on(store, "b", clock), store, bus, grace_s=GRACE_S)

    for _ in range(int((LEASE_S + GRACE_S) // 5) + 2):  # the holder of `renewed` keeps renewing; `recent`'s stopped
        clock.advance(5)
        await holder.renew(renewed_fence)
        if clock.now < datetime(2026, 12, 7, 9, 0, tzinfo=UTC) + timedelta(seconds=LEASE_S + GRACE_S):
            assert await sweeper.sweep() == []
    assert await sweeper.sweep() == [recent]
    row = await store.interview(renewed)
    assert row is not None and row.status == InterviewStatus.LIVE


async def test_a_candidate_taking_the_interview_back_after_the_sweeper_claimed_it_wins(store: Store, bus: Bus) -> None:
    clock = Clock()
    iid = await live_interview(store)
    dead = await leases_on(store, "a", clock).take(iid)
    clock.advance(LEASE_S + GRACE_S + 1)
    sweeper_leases = leases_on(store, "b", clock)
    expired = await sweeper_leases.expired(clock.now - timedelta(seconds=GRACE_S))
    claimed = await sweeper_leases.claim_expired(expired[0], clock.now - timedelta(seconds=GRACE_S))
    assert claimed == Fence(iid, dead.token + 1)

    back = await leases_on(store, "c", clock).take(iid)  # the candidate's hello reached node C meanwhile

    with pytest.raises(LeaseLost):
        await store.set_status(iid, InterviewStatus.ABANDONED, reason=NODE_LOST, fence=claimed)
    row = await store.interview(iid)
    assert row is not None and row.status == InterviewStatus.LIVE
    assert back.token == claimed.token + 1
    assert await LeaseSweeper(sweeper_leases, store, bus, grace_s=GRACE_S).sweep() == []


async def test_an_interview_live_before_the_migration_gets_an_expired_lease_the_sweeper_resolves(
    database_url: str, bus: Bus
) -> None:
    url = Settings.from_env({}, api_key="k", database_url=database_url).sqlalchemy_url
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0012"))
        async with AsyncSession(engine) as s, s.begin():
            s.add(JobRow(id="j-old", title="t", description="", requirements=[], language="en", pass_threshold=6.0,
                         plan={}))  # fmt: skip
            s.add(CandidateRow(id="c-old", name="Before Leases", email=None, resume_text=None))
            await s.flush()
            # In SQL: the ORM row would also write the columns later revisions added to interviews.
            await s.execute(
                text(
                    "INSERT INTO interviews (id, job_id, candidate_id, mode, status, candidate_token, observer_token) "
                    "VALUES ('i-old', 'j-old', 'c-old', 'text', 'live', 't-old', 'o-old')"
                )
            )
    finally:
        await engine.dispose()

    store = await open_store(database_url)  # migrates to the newest revision
    try:
        leases = Leases(store.engine, LEASE_S, node="after-upgrade")
        lease = await leases.lease("i-old")
        assert lease is not None and (lease.node, lease.fence) == ("migration", 0)
        assert lease.expires_at <= datetime.now(UTC)
        await asyncio.sleep(0.01)
        assert await LeaseSweeper(leases, store, bus, grace_s=0).sweep() == ["i-old"]
        row = await store.interview("i-old")
        assert row is not None and (row.status, row.end_reason) == (InterviewStatus.ABANDONED, NODE_LOST)
    finally:
        await store.close()


async def session_on_node_a(store: Store, bus: Bus, iid: str, ended: list[LiveInterview]) -> LiveInterview:
    """A live session holding the interview's lease for node A, as the registry opens one."""
    leases = Leases(store.engine, LEASE_S, node="node-a")
    lease = HeldLease(leases, await leases.take(iid))
    live = LiveInterview(iid, PLAN, Interviewer(PLAN, InterviewerModels()), store=store, channels=bus.plugin,
                         grace_s=0.2, on_end=ended.append, lease=lease)  # fmt: skip
    lease.start(live.fenced_off)
    return live


async def test_a_session_whose_interview_was_taken_over_stops_without_writing_and_closes_its_connection(
    store: Store, bus: Bus
) -> None:
    iid = await live_interview(store)
    ended: list[LiveInterview] = []
    live = await session_on_node_a(store, bus, iid, ended)
    server_end, client = memory_pair()
    await live.attach(Connection(server_end))
    await live.begin()
    assert (await client.message())["type"] == "question"

    await Leases(store.engine, LEASE_S, node="node-b").take(iid)  # the candidate's hello reached node B
    await live.submit(AnswerFinished("An answer node A still received on its half-open connection."))

    said = [await client.message(), await client.message()]
    assert [(m["type"], m.get("code") or m.get("reason")) for m in said] == [
        ("error", "session_closed"),
        ("closed", "session_closed"),
    ]
    assert live.finished and live.fenced_off_at is not None and ended == [live]
    assert await store.turns(iid) == [], "the stale node's answer took no seq"
    row = await store.interview(iid)
    assert row is not None and row.status == InterviewStatus.LIVE
    await asyncio.sleep(0.2)  # the channel publishes from a queue
    published = [msgspec.json.decode(raw)["type"] for raw in await bus.history(iid)]
    assert published == ["candidate_joined", "question"], "nothing published over the new node's events"
    await live.shutdown()


async def test_a_reconnect_grace_running_out_on_the_old_node_does_not_abandon_what_another_node_took_over(
    store: Store, bus: Bus
) -> None:
    iid = await live_interview(store)
    ended: list[LiveInterview] = []
    live = await session_on_node_a(store, bus, iid, ended)
    server_end, _ = memory_pair()
    link = Connection(server_end)
    await live.attach(link)
    await live.begin()
    await live.detach(link)  # the candidate left node A: its grace (0.2 s) starts

    await Leases(store.engine, LEASE_S, node="node-b").take(iid)
    await asyncio.sleep(0.5)

    row = await store.interview(iid)
    assert row is not None and row.status == InterviewStatus.LIVE and row.end_reason is None
    assert ended == [live] and await abandoned_events(store, iid) == 0
    assert "abandoned" not in str(await bus.history(iid))
    await live.shutdown()
