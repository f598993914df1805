"""Issue 14 point 4 against two real server processes on one PostgreSQL and Redis: a candidate's connection to node A
goes half-open mid-interview, the candidate reconnects to node B with the same token and finishes there. Node A
stops on its own (its lease was taken over), and nothing it does later, its reconnect grace included, marks the
interview abandoned or writes a turn: the turns are contiguous, every answer is stored once, and the report is B's.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from server_testkit import Api, Stream, answer_for, clear_redis_prefix, interview_scenario, two_processes

pytestmark = [pytest.mark.redis, pytest.mark.postgres]
KEY = "two-process-key"
LEASE_S = 1.5  # renewed every 0.5 s: node A learns of the takeover within half a second
GRACE_S = 2.0
ANSWERED_ON_A = 2


class FreezableProxy:
    """A TCP proxy in front of a server. `freeze` stops forwarding either way but keeps both sockets open: to the
    server the connection looks alive and silent, as a phone's does when it leaves the Wi-Fi mid-sentence."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [writer, up_writer]
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await self._flowing.wait()  # frozen: nothing is read, so nothing is forwarded or acknowledged above TCP
            data = await reader.read(65536)
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    def freeze(self) -> None:
        self._flowing.clear()

    async def aclose(self) -> None:
        """The half-open connection finally drops (TCP gives up): both sides see it closed."""
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()


@pytest.fixture(scope="module")
def shared_services(
    postgres_database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    prefix = f"shanmian-test-{uuid.uuid4().hex[:12]}"
    yield {
        "DATABASE_URL": postgres_database,
        "REDIS_URL": redis_url,
        "SHANMIAN_REDIS_PREFIX": prefix,
        "SHANMIAN_DATA_DIR": str(tmp_path_factory.mktemp("lease-takeover")),
        "SHANMIAN_LEASE_S": str(LEASE_S),
        "SHANMIAN_RECONNECT_GRACE_S": str(GRACE_S),
        "SHANMIAN_SCORE_BACKEND": "none",  # the report without a scoring model: the test is about who writes it
        "SHANMIAN_PLAN_MODEL": "none",
    }
    clear_redis_prefix(redis_url, prefix)


@pytest.fixture(scope="module")
async def two_servers(shared_services: dict[str, str], free_port: Callable[[], int]) -> AsyncIterator[tuple[str, str]]:
    async with two_processes(shared_services, free_port) as bases:
        yield bases


async def live_sessions(api: Api) -> int:
    return int((await api.get("/health")).json()["live_sessions"])


async def answer(stream: Stream, clips: list[dict[str, Any]], question: dict[str, Any], sent: list[str]) -> None:
    text = answer_for(clips, question)
    sent.append(text)
    await stream.send({"type": "answer", "text": text})


@pytest.mark.timeout(300)
async def test_a_candidate_moving_to_another_node_from_a_half_open_connection_finishes_there_never_abandoned(
    two_servers: tuple[str, str], fixtures_dir: Path
) -> None:
    base_a, base_b = two_servers
    api_a, api_b = Api(base_a, KEY), Api(base_b, KEY)
    spec, clips = interview_scenario(fixtures_dir)
    iv = await api_a.interview(spec)
    path = f"/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}"
    proxy = FreezableProxy(int(base_a.rsplit(":", 1)[1]))
    sent: list[str] = []

    # On node A, through the proxy; no client pings: a frozen connection must not be given up by the client.
    on_a = Stream(await websockets.connect(f"ws://127.0.0.1:{await proxy.start()}{path}", ping_interval=None))
    await on_a.send({"type": "hello", "mode": "text"})
    question = await on_a.until("question", 30)
    while len(sent) < ANSWERED_ON_A:
        await answer(on_a, clips, question, sent)
        question = await on_a.until("question", 30)
    # The next question is out, so A has stored the answers before it; now the connection goes half-open.
    proxy.freeze()
    assert await live_sessions(api_a) == 1

    on_b = Stream(await websockets.connect(base_b.replace("http", "ws", 1) + path))
    await on_b.send({"type": "hello", "mode": "text"})
    ready = await on_b.until("ready", 30)
    assert ready["resumed"] is True
    resent = await on_b.until("question", 30)
    assert (resent["question_id"], resent["text"]) == (question["question_id"], question["text"])

    # A hears of the takeover from its next lease renewal, and drops the session without waiting for its candidate.
    stopped = await api_a.poll("/health", lambda body: body["live_sessions"] == 0, seconds=LEASE_S * 4)
    assert stopped["live_sessions"] == 0, "node A still runs the interview node B took over"

    # One answer on B; then the half-open connection finally drops and A's reconnect grace (and a lease) passes
    # while B still runs the interview: A must not call it abandoned.
    await answer(on_b, clips, resent, sent)
    question = await on_b.until("question", 30)
    await proxy.aclose()
    with contextlib.suppress(Exception):
        await on_a.ws.close()
    await asyncio.sleep(GRACE_S + LEASE_S * 2 + 1)
    assert (await api_a.get(f"/v1/interviews/{iv['id']}")).json()["status"] == "live"

    report = None
    while True:
        if question["type"] == "question":
            await answer(on_b, clips, question, sent)
        elif question["type"] == "report":
            report = question["report"]
        elif question["type"] == "closed":
            break
        question = await on_b.next(120)
    assert report is not None and len(sent) > ANSWERED_ON_A + 1

    for api in (api_a, api_b):
        body = (await api.get(f"/v1/interviews/{iv['id']}")).json()
        assert body["status"] == "completed", body["status"]
        transcript = body["transcript"]
        assert [t["seq"] for t in transcript] == list(range(1, len(sent) + 1)), "contiguous turns, none lost"
        assert [t["answer"] for t in transcript] == sent, "every answer stored once, in order"
        assert body["report"] is not None
    mine = await api_b.get(f"/v1/interviews/{iv['id']}/report", auth=False, token=iv["candidate_token"])
    assert mine.status_code == 200 and mine.json() == report
    versions = (await api_b.get(f"/v1/interviews/{iv['id']}/reports")).json()
    assert len(versions) == 1, "one report, written by the node that finished the interview"
