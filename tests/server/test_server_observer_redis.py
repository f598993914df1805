"""Observers over a real Redis: replay then follow exactly, and Redis going away mid-session (a private
redis-server, so the shared one is left alone): the session goes on degraded, /health says so, observers catch up.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import websockets
from server_testkit import Api, Stream, answer_for, interview_scenario
from services_testkit import unavailable

pytestmark = pytest.mark.redis


class PrivateRedis:
    """A redis-server of this test's own on a free port, which the test may stop and start again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable(
                "redis-server is not installed (this test starts and stops a private one); "
                "install it with: apt-get install redis-server"
            )
        self.proc = await asyncio.create_subprocess_exec(
            binary,
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--bind",
            "127.0.0.1",
            stdout=asyncio.subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@pytest.fixture
async def private_redis(free_port: Callable[[], int]) -> AsyncIterator[PrivateRedis]:
    redis = PrivateRedis(free_port())
    await redis.start()
    yield redis
    await redis.stop()


async def test_redis_going_away_degrades_the_session_and_observers_catch_up(
    server_factory: Any, private_redis: PrivateRedis, fixtures_dir: Path
) -> None:
    server = await server_factory.start(redis_url=private_redis.url)
    api = Api(server.base, server.api_key)
    job, clips = interview_scenario(fixtures_dir)
    iv = await api.interview(job)
    observer = Stream(
        await websockets.connect(f"{server.ws}/v1/interviews/{iv['id']}/observe?token={iv['observer_token']}")
    )
    await observer.replay()
    candidate = await Stream.open(f"{server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    await candidate.send({"type": "hello", "mode": "text"})
    question = await candidate.until("question")

    await private_redis.stop()
    # The session goes on without Redis: answers are taken, stored, and the next question comes at once.
    for _ in range(2):
        await candidate.send({"type": "answer", "text": answer_for(clips, question)})
        question = await candidate.until("question", 10)
    health = (await api.get("/health")).json()
    assert health["status"] == "degraded" and health["bus"]["ok"] is False
    assert health["bus"]["held_events"] >= 2 and health["bus"]["error"]
    assert len((await api.get(f"/v1/interviews/{iv['id']}")).json()["transcript"]) == 2

    await private_redis.start()
    for _ in range(100):
        if (await api.get("/health")).json()["status"] == "ok":
            break
        await asyncio.sleep(0.1)
    assert (await api.get("/health")).json()["bus"]["held_events"] == 0
    await candidate.send({"type": "answer", "text": answer_for(clips, question)})
    await candidate.until("question", 10)

    # The observer stayed connected and now has every event, once, in order, the held ones included.
    last = max(m["seq"] for m in candidate.received if m.get("seq"))
    while not any(m.get("seq") == last for m in observer.received):
        await observer.next(30)
    seen = [m for m in observer.received if m["type"] != "pong"]
    session = [m for m in seen if m["type"] not in ("candidate_joined", "candidate_left", "comment")]
    assert session == [m for m in candidate.received if m.get("seq")]
    seqs = [m["seq"] for m in seen]
    assert seqs == list(range(1, len(seqs) + 1))
    # A new observer connects fine once Redis is back (the restarted Redis kept only what came after it).
    again = Stream(
        await websockets.connect(f"{server.ws}/v1/interviews/{iv['id']}/observe?token={iv['observer_token']}")
    )
    replay = await again.replay()
    assert replay and replay[-1]["seq"] == seqs[-1]
    for s in (observer, again, candidate):
        await s.close()
    await server_factory.stop(server)


async def test_an_observer_connecting_while_redis_is_down_is_told_to_retry(
    server_factory: Any, private_redis: PrivateRedis, fixtures_dir: Path
) -> None:
    server = await server_factory.start(redis_url=private_redis.url)
    api = Api(server.base, server.api_key)
    iv = await api.interview(interview_scenario(fixtures_dir)[0])
    await private_redis.stop()
    observer = Stream(
        await websockets.connect(f"{server.ws}/v1/interviews/{iv['id']}/observe?token={iv['observer_token']}")
    )
    error = await observer.next(10)
    assert error["type"] == "error" and error["code"] == "internal" and "reconnect" in error["message"]
    assert (await observer.next())["type"] == "closed"
    # REST goes on too: its rate-limit counters fall back to process memory.
    assert (await api.get(f"/v1/interviews/{iv['id']}")).status_code == 200
    await server_factory.stop(server)
