"""The audio token bucket: a burst at once, then twice real time; a frame is taken whole or refused whole.

The allowances behind the stream handshake and comment limits: one contract, run against the memory and the Redis
implementation alike; then what only Redis gives, one allowance for several nodes, and what it must not take away,
counting on while Redis is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from server.ratelimit import (
    AUDIO_BURST_S,
    AUDIO_REAL_TIME_FACTOR,
    Allowances,
    AudioBucket,
    MemoryAllowances,
    RedisAllowances,
)

MakeAllowances = Callable[[int, int], Allowances]  # (per_minute, burst) -> a fresh allowance of its own


def test_a_burst_is_taken_at_once_then_frames_beyond_it_are_refused() -> None:
    bucket = AudioBucket(now=0.0)
    taken = sum(bucket.take(0.5, now=0.0) for _ in range(20))
    assert taken * 0.5 == AUDIO_BURST_S
    assert not bucket.take(0.02, now=0.0)


def test_audio_at_twice_real_time_is_always_taken() -> None:
    bucket = AudioBucket(now=0.0)
    frame_s = 0.02
    now = 0.0
    for _ in range(30_000):  # ten minutes of audio sent in five
        now += frame_s / AUDIO_REAL_TIME_FACTOR
        assert bucket.take(frame_s, now=now)


def test_faster_audio_is_held_to_twice_real_time_after_the_burst() -> None:
    bucket = AudioBucket(now=0.0)
    frame_s, now, accepted = 0.02, 0.0, 0.0
    for _ in range(10_000):  # 200 s of audio sent at 10x real time, over 20 s
        now += frame_s / 10
        accepted += frame_s if bucket.take(frame_s, now=now) else 0.0
    assert accepted == pytest.approx(AUDIO_BURST_S + AUDIO_REAL_TIME_FACTOR * now, abs=0.05)


def test_a_frame_larger_than_what_is_left_is_refused_whole_and_costs_nothing() -> None:
    bucket = AudioBucket(rate=2.0, burst_s=1.0, now=0.0)
    assert bucket.take(0.7, now=0.0)
    assert not bucket.take(0.5, now=0.0)
    assert bucket.take(0.3, now=0.0)  # the refused frame took nothing
    assert not bucket.take(0.1, now=0.0)
    assert bucket.take(0.1, now=0.05)  # refilled at 2 s of audio a second


def test_the_refill_never_exceeds_the_burst() -> None:
    bucket = AudioBucket(rate=2.0, burst_s=1.0, now=0.0)
    assert bucket.take(1.0, now=3600.0)
    assert not bucket.take(0.02, now=3600.0)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make_allowances(request: pytest.FixtureRequest) -> AsyncIterator[MakeAllowances]:
    """Fresh allowances of the implementation under test, each under a namespace of its own."""
    if request.param == "memory":
        yield MemoryAllowances
        return
    prefix: str = request.getfixturevalue("redis_prefix")
    redis = Redis.from_url(request.getfixturevalue("redis_url"))
    made: list[RedisAllowances] = []

    def make(per_minute: int, burst: int) -> Allowances:
        made.append(RedisAllowances(redis, f"{prefix}:{len(made)}", per_minute, burst))
        return made[-1]

    yield make
    await redis.aclose()
    assert not any(a.outage.failing for a in made), "counted in Redis throughout, not in the fallback"


async def takes(allowances: Allowances, key: str, n: int) -> list[bool]:
    return [await allowances.take(key) for _ in range(n)]


async def test_the_burst_is_let_through_at_once_then_takes_are_refused(make_allowances: MakeAllowances) -> None:
    allowances = make_allowances(1, 3)
    assert await takes(allowances, "client-a", 5) == [True, True, True, False, False]


async def test_each_key_has_its_own_allowance(make_allowances: MakeAllowances) -> None:
    allowances = make_allowances(1, 2)
    assert await takes(allowances, "client-a", 3) == [True, True, False]
    assert await takes(allowances, "client-b", 3) == [True, True, False]


async def test_concurrent_takes_let_through_exactly_the_burst(make_allowances: MakeAllowances) -> None:
    allowances = make_allowances(1, 5)
    taken = await asyncio.gather(*(allowances.take("client-a") for _ in range(40)))
    assert sum(taken) == 5


async def test_the_allowance_refills_at_its_rate_and_refused_takes_cost_nothing(
    make_allowances: MakeAllowances,
) -> None:
    allowances = make_allowances(120, 1)  # two a second
    assert await takes(allowances, "client-a", 1) == [True]
    assert await takes(allowances, "client-a", 20) == [False] * 20
    await asyncio.sleep(0.6)
    assert await takes(allowances, "client-a", 2) == [True, False]


async def test_an_allowance_never_refills_past_its_burst(make_allowances: MakeAllowances) -> None:
    allowances = make_allowances(120, 2)
    assert await takes(allowances, "client-a", 2) == [True, True]
    await asyncio.sleep(1.5)  # three takes' worth of refill: the bucket holds two
    assert await takes(allowances, "client-a", 3) == [True, True, False]


@pytest.mark.redis
async def test_nodes_on_one_redis_draw_from_one_allowance(redis_url: str, redis_prefix: str) -> None:
    # Two clients, as two nodes have: neither node's own count would refuse anything below the burst.
    node_a, node_b = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        a = RedisAllowances(node_a, f"{redis_prefix}_limits:handshakes", 1, 4)
        b = RedisAllowances(node_b, f"{redis_prefix}_limits:handshakes", 1, 4)
        both = await asyncio.gather(*(node.take("203.0.113.7") for node in (a, b) * 10))
        assert sum(both) == 4
        assert await takes(a, "203.0.113.7", 1) == [False]
        assert await takes(b, "203.0.113.7", 1) == [False]
        assert await takes(b, "203.0.113.8", 1) == [True]
    finally:
        await node_a.aclose()
        await node_b.aclose()


async def test_without_redis_takes_are_counted_in_this_process_with_one_warning(
    free_port: Callable[[], int], caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on the port: every call to Redis fails to connect, as during an outage.
    redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=1)
    allowances = RedisAllowances(redis, "unreachable", 1, 2)
    try:
        with caplog.at_level(logging.WARNING, logger="server.ratelimit"):
            assert await takes(allowances, "client-a", 3) == [True, True, False], "neither an error nor a lockout"
            allowances.outage.RETRY_AFTER_S = 0.0  # every take tries Redis again, and fails again
            assert await takes(allowances, "client-b", 3) == [True, True, False]
    finally:
        await redis.aclose()
    assert allowances.outage.failing
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Redis is unavailable" in warnings[0], warnings
