"""Observer tickets (issue 14, High 1): asked for with the HR key or the observer token in a header, good for one
connection to one interview within their lifetime.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from security_testkit import InProcessServer, hr, schedule, start_in_process


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessServer]:
    running = await start_in_process(tmp_path_factory.mktemp("tickets"), observer_ticket_ttl_s=1.0)
    yield running
    await running.stop()


async def _ticket(server: InProcessServer, interview_id: str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base) as c:
        return await c.post(f"/v1/interviews/{interview_id}/observer-ticket", headers=headers)


async def _observe(server: InProcessServer, interview_id: str, ticket: str) -> dict[str, Any]:
    """The first answer to a ping on a connection opened with `ticket`: a pong, or the refusal."""
    async with websockets.connect(f"{server.ws}/v1/interviews/{interview_id}/observe?ticket={ticket}") as ws:
        await ws.send(json.dumps({"type": "ping"}))
        while True:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message["type"] in ("pong", "error"):
                return message


async def test_a_ticket_opens_its_interview_once(server: InProcessServer) -> None:
    iv = await schedule(server.base)
    r = await _ticket(server, iv["id"], hr())
    assert r.status_code == 201 and r.json()["expires_in"] == 1.0
    ticket = r.json()["ticket"]
    assert (await _observe(server, iv["id"], ticket))["type"] == "pong"
    again = await _observe(server, iv["id"], ticket)
    assert again["type"] == "error" and again["code"] == "unauthorized", "a ticket is single-use"


async def test_an_observer_token_gets_a_ticket_but_not_for_another_interview(server: InProcessServer) -> None:
    iv, other = await schedule(server.base), await schedule(server.base)
    mine = await _ticket(server, iv["id"], hr(iv["observer_token"]))
    assert mine.status_code == 201
    assert (await _ticket(server, other["id"], hr(iv["observer_token"]))).status_code == 401
    refused = await _observe(server, other["id"], mine.json()["ticket"])
    assert refused["code"] == "unauthorized", "a ticket names its interview"


async def test_a_ticket_expires(server: InProcessServer) -> None:
    iv = await schedule(server.base)
    ticket = (await _ticket(server, iv["id"], hr())).json()["ticket"]
    await asyncio.sleep(2.2)  # the store counts whole seconds: 1 s lifetime, past its rounding
    assert (await _observe(server, iv["id"], ticket))["code"] == "unauthorized"


async def test_no_ticket_without_a_credential_and_no_id_oracle(server: InProcessServer) -> None:
    iv = await schedule(server.base)
    no_key = await _ticket(server, iv["id"], {})
    assert no_key.status_code == 401 and no_key.json()["error"]["code"] == "unauthorized"
    assert (await _ticket(server, iv["id"], hr("wrong"))).status_code == 401
    # An unknown id answers like a wrong credential, unless HR asks.
    assert (await _ticket(server, "no-such-id", hr(iv["observer_token"]))).status_code == 401
    assert (await _ticket(server, "no-such-id", hr())).status_code == 404


@pytest.mark.redis
async def test_a_ticket_from_one_node_opens_the_stream_on_another_once(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix, "database_url": f"sqlite:///{tmp_path / 'db'}"}
    a = await start_in_process(tmp_path / "a", **shared)
    b = await start_in_process(tmp_path / "b", **shared)
    try:
        iv = await schedule(a.base)
        ticket = (await _ticket(a, iv["id"], hr())).json()["ticket"]
        assert (await _observe(b, iv["id"], ticket))["type"] == "pong", "any node redeems a ticket"
        assert (await _observe(a, iv["id"], ticket))["code"] == "unauthorized", "once, across nodes"
    finally:
        await a.stop()
        await b.stop()
