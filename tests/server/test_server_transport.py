"""The stream logic over an in-memory transport pair: no uvicorn, no sockets, no models.

The connection's contract (closed first, a dead peer noticed), an observer's replay-then-follow with each event
once, and a candidate reconnecting to a live interview getting its question once. The end-to-end versions of
these run over real WebSockets and WebRTC in the other tests/server suites.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from transport_testkit import memory_pair

from dialogue.follow_up import FollowUpPolicy
from dialogue.interviewer import Interviewer
from dialogue.plan import Requisition, build_plan
from server.bus import Bus, channel_name, make_bus
from server.db.store import Store, plan_to_json
from server.db.tables import CandidateRow, InterviewRow, JobRow
from server.runtime import Runtime
from server.settings import Settings
from server.stream.live import LiveInterview
from server.stream.observer import ObserverFeed
from server.stream.transport import CLOSE_POLICY, Connection, LinkClosed


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    bus = make_bus(Settings.from_env({}, api_key="k"))
    async with bus.plugin:
        yield bus


async def test_close_says_closed_first_then_ends_the_connection_once() -> None:
    server, client = memory_pair()
    conn = Connection(server)
    await conn.close("completed")
    await conn.close("again")
    assert (await client.message())["type"] == "closed"
    with pytest.raises(LinkClosed):
        await client.receive()
    assert server.closed == (1000, "completed")


async def test_a_gone_peer_is_noticed_on_the_next_send() -> None:
    server, client = memory_pair()
    conn = Connection(server)
    await client.close(1000, "bye")
    with pytest.raises(LinkClosed):
        await conn.send_text("{}")
    assert not conn.open
    with pytest.raises(LinkClosed):
        await conn.error("bad_message", "nobody hears this")


async def test_fail_says_the_error_then_closed_with_the_given_code() -> None:
    server, client = memory_pair()
    await Connection(server).fail("unauthorized", "wrong token", CLOSE_POLICY)
    assert [m["type"] for m in client.pending()] == ["error", "closed"]
    assert server.closed == (CLOSE_POLICY, "unauthorized")


def _event(seq: int) -> bytes:
    return msgspec.json.encode({"type": "transcript", "seq": seq, "text": f"e{seq}"})


async def test_an_observer_gets_history_then_live_each_event_once_in_order(bus: Bus) -> None:
    channel = channel_name("iv-observed")
    for seq in (1, 2, 3):
        await bus.plugin.wait_published(_event(seq), channel)
    server, client = memory_pair()
    feed = ObserverFeed(Connection(server), bus, "iv-observed")
    subscriber = await bus.subscribe("iv-observed")
    # Published after subscribing and before the history is read: in both, and sent once.
    await bus.plugin.wait_published(_event(4), channel)
    await feed.replay()
    follow = asyncio.create_task(feed.follow(subscriber))
    for seq in (4, 5, 6):  # 4 again: a re-read after a Redis outage
        await bus.plugin.wait_published(_event(seq), channel)
    got = [(await client.message())["seq"] for _ in range(6)]
    follow.cancel()
    await bus.unsubscribe("iv-observed", subscriber)
    assert got == [1, 2, 3, 4, 5, 6]
    assert client.pending() == []


async def test_a_comment_delivered_twice_reaches_the_observer_once(bus: Bus) -> None:
    server, client = memory_pair()
    feed = ObserverFeed(Connection(server), bus, "iv-comments")
    comment = msgspec.json.encode({"type": "comment", "comment_id": 7, "text": "clear answer"})
    await feed.deliver(comment)
    await feed.deliver(comment)
    assert [m["comment_id"] for m in client.pending()] == [7]


async def test_a_reconnecting_candidate_gets_the_current_question_once(tmp_path: Path, bus: Bus) -> None:
    settings = Settings.from_env({}, api_key="k", llm_backend="none", voice=False)
    plan = build_plan(Requisition("Backend engineer", "", ("Python", "SQL"), "en"))
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    # A stored interview: going live is a compare-and-set on its row.
    await store.add_job(JobRow(id="job", title="Backend engineer", description="", requirements=["Python", "SQL"],
                               language="en", pass_threshold=6.0, plan=plan_to_json(plan)))  # fmt: skip
    await store.add_candidate(CandidateRow(id="cand", name="Ada", email=None, resume_text=None))
    await store.add_interview(InterviewRow(id="iv-rejoin", job_id="job", candidate_id="cand", mode="text",
                                           status="scheduled", candidate_token="c", observer_token="o"))  # fmt: skip
    runtime = Runtime(settings)
    interviewer = Interviewer(plan, runtime.interviewer_models("en"), FollowUpPolicy(max_per_question=1))
    live = LiveInterview(
        "iv-rejoin", plan, interviewer, store=store, channels=bus.plugin, grace_s=60, on_end=lambda _: None
    )
    try:
        first_server, first = memory_pair()
        assert not await live.attach(Connection(first_server))
        await live.begin()
        question = await first.message()
        assert question["type"] == "question" and question["index"] == 1

        second_server, second = memory_pair()
        assert await live.attach(Connection(second_server)), "the session had started: this is a resume"
        closed = await first.message()
        assert closed["type"] == "closed" and "replaced" in closed["reason"]
        await live.begin()
        await live.begin()  # a second begin on the same connection must not repeat the question
        again = [m for m in second.pending() if m["type"] == "question"]
        assert [(m["question_id"], m["text"]) for m in again] == [(question["question_id"], question["text"])]
    finally:
        await live.shutdown()
        await store.close()
