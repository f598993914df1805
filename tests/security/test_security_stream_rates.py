"""Stream rate limits a script could otherwise abuse, on a real model-free server with real WebSocket clients: an
observer's comments beyond their connection's allowance are answered `rate_limited` and neither stored nor sent to
the other observers; WebSocket handshakes beyond an address's allowance, on the candidate and the observer streams
alike, are accepted only to be answered `rate_limited` and closed (1008); a page that reconnects as a flaky network
makes it reconnect stays within the allowance."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from security_testkit import InProcessServer, hr, schedule, start_in_process
from websockets.asyncio.client import ClientConnection

from server.db.store import Store
from server.settings import Settings

CLOSE_POLICY = 1008
# What an operator gets without setting anything (the test kit raises the handshake burst for other suites).
DEFAULTS = {f.name: f.default for f in dataclasses.fields(Settings)}
DEFAULT_HANDSHAKES = {
    "stream_handshakes_per_minute": DEFAULTS["stream_handshakes_per_minute"],
    "stream_handshakes_burst": DEFAULTS["stream_handshakes_burst"],
}


@pytest.fixture
async def server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[InProcessServer]:
    """A server with the settings the test names with `@pytest.mark.parametrize("server", [{...}], indirect=True)`."""
    running = await start_in_process(tmp_path, **getattr(request, "param", {}))
    yield running
    await running.stop()


def store_of(server: InProcessServer) -> Store:
    store: Store = server.app.state.services.store
    return store


async def observe(server: InProcessServer, interview: dict[str, Any]) -> ClientConnection:
    return await websockets.connect(
        f"{server.ws}/v1/interviews/{interview['id']}/observe?token={interview['observer_token']}"
    )


async def next_of(socket: ClientConnection, types: tuple[str, ...]) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if message["type"] in types:
            return dict(message)


async def refused(url: str) -> tuple[list[dict[str, Any]], int | None]:
    """Everything a connection to `url` is sent until the server closes it, and the close code."""
    got: list[dict[str, Any]] = []
    async with websockets.connect(url) as socket:
        try:
            while True:
                got.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
        except websockets.ConnectionClosed:
            pass
        return got, socket.close_code


async def test_comments_past_the_allowance_get_rate_limited_and_are_neither_stored_nor_broadcast(
    server: InProcessServer,
) -> None:
    assert (server.settings.observer_comments_per_minute, server.settings.observer_comments_burst) == (10, 3)
    interview = await schedule(server.base)
    writer, reader = await observe(server, interview), await observe(server, interview)
    try:
        for i in range(5):
            await writer.send(json.dumps({"type": "comment", "text": f"note {i}"}))
        answers = [await next_of(writer, ("comment", "error")) for _ in range(5)]
        assert [m.get("text") for m in answers if m["type"] == "comment"] == ["note 0", "note 1", "note 2"]
        errors = [m for m in answers if m["type"] == "error"]
        assert [m["code"] for m in errors] == ["rate_limited"] * 2
        assert "10 comments a minute" in errors[0]["message"]
        seen = [(await next_of(reader, ("comment",)))["text"] for _ in range(3)]
        assert seen == ["note 0", "note 1", "note 2"]
        await reader.send(json.dumps({"type": "ping"}))
        assert (await next_of(reader, ("comment", "pong")))["type"] == "pong", "the refused ones never reached it"
        await writer.send(json.dumps({"type": "ping"}))
        assert (await next_of(writer, ("pong",)))["type"] == "pong", "the connection goes on"
    finally:
        await writer.close()
        await reader.close()
    stored = await store_of(server).comments(interview["id"])
    assert [c.text for c in stored] == ["note 0", "note 1", "note 2"]
    added = [e for e in await _audit(server) if e["action"] == "comment_added"]
    assert len(added) == 3, "a refused comment leaves no audit entry either"


@pytest.mark.parametrize("server", [{"observer_comments_per_minute": 120, "observer_comments_burst": 1}], indirect=True)
async def test_the_comment_allowance_refills_at_its_rate(server: InProcessServer) -> None:
    interview = await schedule(server.base)
    socket = await observe(server, interview)
    try:
        await socket.send(json.dumps({"type": "comment", "text": "first"}))
        await socket.send(json.dumps({"type": "comment", "text": "too soon"}))
        got = [await next_of(socket, ("comment", "error")) for _ in range(2)]
        # The refusal is answered at once, the comment comes back through the interview's channel: either first.
        assert sorted((m["type"], m.get("text") or m.get("code")) for m in got) == [
            ("comment", "first"),
            ("error", "rate_limited"),
        ]
        await asyncio.sleep(0.6)  # two a second refill
        await socket.send(json.dumps({"type": "comment", "text": "after a pause"}))
        assert (await next_of(socket, ("comment", "error"))).get("text") == "after a pause"
    finally:
        await socket.close()


@pytest.mark.parametrize("server", [DEFAULT_HANDSHAKES], indirect=True)
async def test_handshakes_past_the_allowance_are_refused_rate_limited_on_both_streams(server: InProcessServer) -> None:
    assert (server.settings.stream_handshakes_per_minute, server.settings.stream_handshakes_burst) == (30, 10)
    interview = await schedule(server.base)
    observer_url = f"{server.ws}/v1/interviews/{interview['id']}/observe?token={interview['observer_token']}"
    candidate_url = f"{server.ws}/v1/interviews/{interview['id']}/stream?token={interview['candidate_token']}"
    for _ in range(10):  # the burst: every one let in
        async with websockets.connect(observer_url) as socket:
            await socket.send(json.dumps({"type": "ping"}))
            assert (await next_of(socket, ("pong", "error")))["type"] == "pong"
    for url in (observer_url, candidate_url):  # one address, one allowance for both streams
        got, code = await refused(url)
        assert code == CLOSE_POLICY, got
        assert [m["code"] for m in got if m["type"] == "error"] == ["rate_limited"], got
        assert "stream connections a minute" in got[0]["message"]
    joined = [e for e in await _audit(server) if e["action"] == "observer_joined"]
    assert len(joined) == 10, "a refused handshake reaches neither the interview nor the audit log"
    row = await store_of(server).interview(interview["id"])
    assert row is not None and row.status == "scheduled", "the refused candidate connection started nothing"


@pytest.mark.parametrize("server", [DEFAULT_HANDSHAKES], indirect=True)
async def test_a_page_reconnecting_through_a_flaky_network_stays_within_the_default_allowance(
    server: InProcessServer,
) -> None:
    interview = await schedule(server.base)
    observer_url = f"{server.ws}/v1/interviews/{interview['id']}/observe?token={interview['observer_token']}"
    # A reload storm (the candidate's and two observers' pages, each reloaded) and then reconnects every two seconds.
    pauses = [0.0] * 8 + [2.0] * 6
    for pause in pauses:
        await asyncio.sleep(pause)
        async with websockets.connect(observer_url) as socket:
            await socket.send(json.dumps({"type": "ping"}))
            assert (await next_of(socket, ("pong", "error")))["type"] == "pong"


async def _audit(server: InProcessServer) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.base, headers=hr(), timeout=30) as api:
        answer = await api.get("/v1/audit")
        assert answer.status_code == 200, answer.text
        return [json.loads(line) for line in answer.text.splitlines() if line]
