"""Issue 14, Medium 11: per-session bounds, each a setting with a clear error: rephrase/repeat floods, answer length,
interview duration, live sessions per node, observers per interview.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import websockets
from security_testkit import ANSWER, API_KEY, InProcessServer, schedule, start_in_process
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from server.db.status import InterviewStatus
from server.db.tables import InterviewRow

Start = Callable[..., Awaitable[InProcessServer]]


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    """Starts model-free servers with the given settings; all stopped after the test."""
    running: list[InProcessServer] = []

    async def _start(**settings: Any) -> InProcessServer:
        server = await start_in_process(tmp_path / str(len(running)), **settings)
        running.append(server)
        return server

    yield _start
    for server in running:
        await server.stop()


async def _next(ws: Any, seconds: float = 30) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), seconds))
    return message


async def _until(ws: Any, kind: str, seconds: float = 30) -> dict[str, Any]:
    while (message := await _next(ws, seconds))["type"] != kind:
        pass
    return message


async def _joined(server: InProcessServer, iv: dict[str, Any]) -> Any:
    ws = await websockets.connect(f"{server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    await ws.send(json.dumps({"type": "hello", "mode": "text"}))
    return ws


async def test_a_rephrase_and_repeat_flood_is_refused_and_a_new_question_starts_over(start: Start) -> None:
    server = await start(max_repeats_per_question=3)
    ws = await _joined(server, await schedule(server.base))
    first = await _until(ws, "question")
    for kind in ("rephrase", "repeat", "rephrase", "repeat", "rephrase"):
        await ws.send(json.dumps({"type": kind}))
    again = [m for m in [await _next(ws) for _ in range(5)] if m["type"] in ("question", "error")]
    assert [m["type"] for m in again].count("question") == 3, again
    refused = [m for m in again if m["type"] == "error"]
    assert [m["code"] for m in refused] == ["rate_limited", "rate_limited"] and "answer it" in refused[0]["message"]
    await ws.send(json.dumps({"type": "answer", "text": ANSWER}))
    following = await _until(ws, "question")
    assert following["question_id"] != first["question_id"] or following["kind"] == "follow_up"
    await ws.send(json.dumps({"type": "repeat"}))
    assert (await _until(ws, "question"))["kind"] == "repeat", "the next question has its own allowance"
    await ws.close()


async def test_a_typed_answer_over_the_limit_is_refused_and_the_session_goes_on(start: Start) -> None:
    server = await start(max_text_chars=200)
    ws = await _joined(server, await schedule(server.base))
    await _until(ws, "question")
    await ws.send(json.dumps({"type": "answer", "text": "x" * 201}))
    error = await _until(ws, "error")
    assert error["code"] == "too_large" and "200" in error["message"]
    await ws.send(json.dumps({"type": "ping"}))
    assert (await _next(ws))["type"] == "pong"
    await ws.close()


async def test_an_interview_past_its_time_limit_ends_and_is_reported(start: Start) -> None:
    server = await start(max_interview_s=1.5)
    ws = await _joined(server, await schedule(server.base))
    await _until(ws, "question")
    error = await _until(ws, "error", 10)
    assert error["code"] == "session_closed" and "time limit" in error["message"]
    await _until(ws, "report")
    assert (await _next(ws))["type"] == "closed"


async def test_the_time_limit_counts_from_when_the_interview_went_live_not_from_a_takeover(start: Start) -> None:
    server = await start(max_interview_s=60)
    iv = await schedule(server.base)
    # As a node that died (or lost the candidate to this one) leaves it: live for 58 s of its 60.
    engine = create_async_engine(server.settings.sqlalchemy_url)
    async with engine.begin() as conn:
        await conn.execute(
            update(InterviewRow)
            .where(InterviewRow.id == iv["id"])
            .values(status=InterviewStatus.LIVE, started_at=datetime.now(UTC) - timedelta(seconds=58))
        )
    await engine.dispose()
    ws = await _joined(server, iv)
    error = await _until(ws, "error", 15)
    assert error["code"] == "session_closed" and "time limit" in error["message"]
    await _until(ws, "report")


async def test_a_node_runs_at_most_its_live_sessions(start: Start) -> None:
    server = await start(max_live_sessions=1)
    first_iv, second_iv = await schedule(server.base), await schedule(server.base)
    first = await _joined(server, first_iv)
    await _until(first, "ready")
    second = await _joined(server, second_iv)
    refused = await _next(second)
    assert refused["code"] == "rate_limited" and "limit" in refused["message"]
    assert (await _next(second))["type"] == "closed"
    # The first one ends; the node has room again.
    await first.send(json.dumps({"type": "end"}))
    await _until(first, "closed")
    retry = await _joined(server, second_iv)
    assert (await _until(retry, "ready"))["session_id"] == second_iv["id"]
    await retry.close()


async def test_an_interview_has_at_most_its_observers(start: Start) -> None:
    server = await start(max_observers_per_interview=2)
    iv = await schedule(server.base)
    url = f"{server.ws}/v1/interviews/{iv['id']}/observe?token={API_KEY}"
    watching = [await websockets.connect(url) for _ in range(2)]
    for ws in watching:
        await ws.send(json.dumps({"type": "ping"}))
        await _until(ws, "pong")
    async with websockets.connect(url) as third:
        refused = await _next(third)
        assert refused["code"] == "rate_limited" and "2 observers" in refused["message"]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await _next(third)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    await watching.pop().close()
    await asyncio.sleep(0.2)  # the server notices the close and frees the seat
    async with websockets.connect(url) as again:
        await again.send(json.dumps({"type": "ping"}))
        assert (await _until(again, "pong"))["type"] == "pong"
    for ws in watching:
        await ws.close()
