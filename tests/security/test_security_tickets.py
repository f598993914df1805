"""Observer tickets (issue 14, High 1): asked for with the HR key or the observer token in a header, good for one
connection to one interview within their lifetime; the banner prints only a generated key; log redaction itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from security_testkit import API_KEY, InProcessServer, hr, schedule, start_in_process

from server.cli import _banner
from server.log_redaction import redact, redact_record
from server.runtime import Runtime
from server.settings import Settings


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


def test_the_banner_prints_only_a_generated_key(tmp_path: Path) -> None:
    runtime = Runtime(Settings())
    set_by_operator = Settings.from_env({}, api_key=API_KEY, data_dir=tmp_path)
    assert API_KEY not in _banner(set_by_operator, runtime)
    generated = Settings.from_env({}, data_dir=tmp_path)
    assert generated.generated_api_key and generated.api_key in _banner(generated, runtime)


def test_redaction_keeps_names_and_numbers_and_hides_values() -> None:
    assert (
        redact("GET /x?token=abc&n=2&api_key=k1&ticket=t")
        == "GET /x?token=[redacted]&n=2&api_key=[redacted]&ticket=[redacted]"
    )
    assert redact("Authorization: Bearer s3cr3t.x") == "Authorization: Bearer [redacted]"
    assert redact("monkey=3 keys=4") == "monkey=3 keys=4"
    # uvicorn's access line: five arguments, the status formatted with %d.
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/join/1/info?token=abc", "1.1", 200), None,
    )  # fmt: skip
    redact_record(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /join/1/info?token=[redacted] HTTP/1.1" 200'
