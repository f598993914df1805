"""The event bus contract, run against the in-memory backend and a real Redis: publish, subscribe, history,
ordering, the subscribe-then-history seam, and (Redis) several nodes sharing one channel.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import msgspec
import pytest

from server.bus import Bus, InterviewMemoryBackend, channel_name, make_bus
from server.settings import Settings

BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


def event(seq: int, **extra: Any) -> bytes:
    return msgspec.json.encode({"type": "transcript", "seq": seq, **extra})


def seqs(raw: list[bytes]) -> list[int]:
    return [msgspec.json.decode(r)["seq"] for r in raw]


async def take(subscriber: Any, n: int, seconds: float = 5) -> list[bytes]:
    got: list[bytes] = []

    async def collect() -> None:
        async for raw in subscriber.iter_events():
            got.append(raw)
            if len(got) == n:
                return

    await asyncio.wait_for(collect(), seconds)
    return got


@pytest.fixture(params=BACKENDS)
async def nodes(
    request: pytest.FixtureRequest, redis_url: str, redis_prefix: str
) -> AsyncIterator[Callable[[], Any]]:
    """Makes started buses ("nodes") of one backend kind; with Redis they share this test's key prefix."""
    kind = request.param
    async with AsyncExitStack() as stack:

        async def node() -> Bus:
            settings = Settings.from_env(
                {}, api_key="k", redis_url=redis_url if kind == "redis" else "", redis_prefix=redis_prefix
            )
            bus = make_bus(settings)
            await stack.enter_async_context(bus.plugin)
            return bus

        yield node


async def test_a_subscriber_gets_what_is_published_in_order(nodes: Any) -> None:
    bus: Bus = await nodes()
    channel = channel_name(uuid.uuid4().hex)
    subscriber = await bus.plugin.subscribe(channel)
    for i in range(1, 201):
        bus.plugin.publish(event(i), channel)
    assert seqs(await take(subscriber, 200)) == list(range(1, 201))
    await bus.plugin.unsubscribe(subscriber)


async def test_history_holds_every_event_in_order_and_outlives_its_subscribers(nodes: Any) -> None:
    bus: Bus = await nodes()
    iid = uuid.uuid4().hex
    subscriber = await bus.plugin.subscribe(channel_name(iid))
    for i in range(1, 51):
        await bus.plugin.wait_published(event(i), channel_name(iid))
    await take(subscriber, 50)
    await bus.plugin.unsubscribe(subscriber)
    assert seqs(await bus.history(iid)) == list(range(1, 51))
    # Published with nobody subscribed: still in the history for whoever comes later.
    await bus.plugin.wait_published(event(51), channel_name(iid))
    assert seqs(await bus.history(iid))[-1] == 51
    assert await bus.history(uuid.uuid4().hex) == []


async def test_channels_are_kept_apart(nodes: Any) -> None:
    bus: Bus = await nodes()
    a, b = uuid.uuid4().hex, uuid.uuid4().hex
    sub_a = await bus.plugin.subscribe(channel_name(a))
    await bus.plugin.wait_published(event(1, who="b"), channel_name(b))
    await bus.plugin.wait_published(event(1, who="a"), channel_name(a))
    got = await take(sub_a, 1)
    assert msgspec.json.decode(got[0])["who"] == "a"
    assert [msgspec.json.decode(r)["who"] for r in await bus.history(b)] == ["b"]
    await bus.plugin.unsubscribe(sub_a)


async def test_subscribe_then_history_covers_every_event_once_while_publishing(nodes: Any) -> None:
    """The observer's seam: whatever lands between subscribing and reading history is in one or both."""
    bus: Bus = await nodes()
    iid = uuid.uuid4().hex
    total = 300

    async def publisher() -> None:
        for i in range(1, total + 1):
            bus.plugin.publish(event(i), channel_name(iid))
            if i % 10 == 0:
                await asyncio.sleep(0.001)

    task = asyncio.create_task(publisher())
    await asyncio.sleep(0.01)
    subscriber = await bus.plugin.subscribe(channel_name(iid))
    history = seqs(await bus.history(iid))
    await task
    last = history[-1] if history else 0
    live: list[int] = []
    while last < total and (not live or live[-1] < total):
        live += seqs(await take(subscriber, 1))
    merged = history + [s for s in live if s > last]
    assert merged == list(range(1, total + 1))
    await bus.plugin.unsubscribe(subscriber)


@pytest.mark.redis
async def test_two_nodes_share_channels_and_history_on_redis(redis_url: str, redis_prefix: str) -> None:
    async with AsyncExitStack() as stack:
        buses = []
        for _ in range(2):
            bus = make_bus(Settings.from_env({}, api_key="k", redis_url=redis_url, redis_prefix=redis_prefix))
            await stack.enter_async_context(bus.plugin)
            buses.append(bus)
        a, b = buses
        iid = uuid.uuid4().hex
        for i in range(1, 11):
            await a.plugin.wait_published(event(i), channel_name(iid))
        subscriber = await b.plugin.subscribe(channel_name(iid))
        assert seqs(await b.history(iid)) == list(range(1, 11)), "node B replays what node A published"
        for i in range(11, 21):
            a.plugin.publish(event(i), channel_name(iid))
        # Node B reads live from where the stream stood when it subscribed: nothing replayed as if live.
        assert seqs(await take(subscriber, 10)) == list(range(11, 21))
        await b.plugin.unsubscribe(subscriber)


async def test_memory_history_expires_once_idle() -> None:
    backend = InterviewMemoryBackend(history=10, ttl_s=0.05)
    await backend.on_startup()
    await backend.publish(b"old", ["interview:a"])
    assert await backend.get_history("interview:a") == [b"old"]
    await asyncio.sleep(0.1)
    await backend.publish(b"new", ["interview:b"])  # publishing sweeps idle channels
    assert await backend.get_history("interview:a") == []
    assert await backend.get_history("interview:b") == [b"new"]
    for i in range(15):
        await backend.publish(str(i).encode(), ["interview:b"])
    assert len(await backend.get_history("interview:b")) == 10, "history is capped at its size"
