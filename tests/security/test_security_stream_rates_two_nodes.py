"""The stream handshake and comment limits across two real server processes on one PostgreSQL and Redis, as nodes
behind a load balancer are: handshakes spread over both nodes are refused once the address's one allowance is spent,
and an observer who reconnects, to the same node or the other, with their token or a ticket for it, goes on with the
comment allowance they had; another person's comments on the same interview have an allowance of their own."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from security_testkit import API_KEY, ServerProcess, hr, schedule, start_process
from websockets.asyncio.client import ClientConnection

pytestmark = [pytest.mark.redis, pytest.mark.postgres]
CLOSE_POLICY = 1008


async def two_nodes(
    tmp_path: Path, postgres_database: str, redis_url: str, redis_prefix: str, **limits: int
) -> tuple[ServerProcess, ServerProcess]:
    """Two nodes on one database and Redis with the given limits; started one after the other (both would
    otherwise run the migrations at once)."""
    env = {
        "DATABASE_URL": postgres_database,
        "REDIS_URL": redis_url,
        "SHANMIAN_REDIS_PREFIX": redis_prefix,
        **{f"SHANMIAN_{name.upper()}": str(value) for name, value in limits.items()},
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = await start_process(tmp_path / "a", **env)
    try:
        return a, await start_process(tmp_path / "b", **env)
    except BaseException:
        await a.stop()
        raise


@pytest.fixture
async def nodes(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_database: str, redis_url: str, redis_prefix: str
) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    """Two nodes with the limits the test names with `@pytest.mark.parametrize("nodes", [{...}], indirect=True)`."""
    a, b = await two_nodes(tmp_path, postgres_database, redis_url, redis_prefix, **request.param)
    yield a, b
    await asyncio.gather(a.stop(), b.stop())
    for name, node in (("a", a), ("b", b)):
        print(f"--- node {name}'s output ---\n{node.text()[-4000:]}")  # shown with a failure


async def next_of(socket: ClientConnection, wanted: Any) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if wanted(message):
            return dict(message)


async def ponged(url: str) -> bool:
    """Whether a connection to `url` is let in (answers a ping); False when it is refused `rate_limited`, 1008."""
    got: list[dict[str, Any]] = []
    async with websockets.connect(url) as socket:
        with contextlib.suppress(websockets.ConnectionClosed):
            await socket.send(json.dumps({"type": "ping"}))  # a refused one may be closed before the ping goes out
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                got.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
                if got[-1]["type"] == "pong":
                    return True
    assert [m["code"] for m in got if m["type"] == "error"] == ["rate_limited"], got
    assert socket.close_code == CLOSE_POLICY
    return False


async def comment(url: str, *texts: str) -> list[str]:
    """Connects to `url`, comments each text in turn and returns what became of each: "kept" (it came back through
    the interview's channel) or the error code it got."""
    outcomes = []
    async with websockets.connect(url) as socket:
        for text in texts:
            await socket.send(json.dumps({"type": "comment", "text": text}))
            # Comments kept earlier come back first, in the replay: only this one's answer counts.
            answer = await next_of(socket, lambda m: m["type"] == "error" or m.get("text") == text)  # noqa: B023
            outcomes.append("kept" if answer["type"] == "comment" else answer["code"])
    return outcomes


@pytest.mark.parametrize("nodes", [{"stream_handshakes_per_minute": 1, "stream_handshakes_burst": 6}], indirect=True)
async def test_handshakes_spread_over_two_nodes_are_refused_after_the_one_shared_allowance(
    nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = nodes
    interview = await schedule(a.base)
    path = f"/v1/interviews/{interview['id']}/observe?token={interview['observer_token']}"
    # Alternating, as a load balancer spreads them: each node alone would let in six.
    let_in = [await ponged(node.ws + path) for node in (a, b) * 3]
    assert let_in == [True] * 6
    assert not await ponged(a.ws + path)
    assert not await ponged(b.ws + path)
    candidate = f"/v1/interviews/{interview['id']}/stream?token={interview['candidate_token']}"
    assert not await ponged(b.ws + candidate), "the candidate stream draws from the same allowance"


@pytest.mark.parametrize("nodes", [{"observer_comments_per_minute": 1, "observer_comments_burst": 3}], indirect=True)
async def test_an_observer_reconnecting_to_either_node_does_not_get_a_fresh_comment_allowance(
    nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = nodes
    interview = await schedule(a.base)
    path = f"/v1/interviews/{interview['id']}/observe"
    by_token = f"{path}?token={interview['observer_token']}"
    assert await comment(a.ws + by_token, "one", "two") == ["kept", "kept"]
    assert await comment(b.ws + by_token, "three", "four") == ["kept", "rate_limited"]
    async with httpx.AsyncClient(base_url=a.base, timeout=30) as api:
        issued = await api.post(
            f"/v1/interviews/{interview['id']}/observer-ticket",
            headers={"Authorization": f"Bearer {interview['observer_token']}"},
        )
        assert issued.status_code == 201, issued.text
        assert await comment(f"{a.ws}{path}?ticket={issued.json()['ticket']}", "five") == ["rate_limited"]
        assert await comment(f"{b.ws}{path}?token={API_KEY}", "by hr") == ["kept"], "another person, another allowance"
        stored = (await api.get(f"/v1/interviews/{interview['id']}", headers=hr())).json()["comments"]
    assert [(c["author"], c["text"]) for c in stored] == [
        ("observer", "one"),
        ("observer", "two"),
        ("observer", "three"),
        ("hr", "by hr"),
    ]
