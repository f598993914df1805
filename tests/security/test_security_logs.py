"""Issue 14, High 1: no HR key, candidate token, observer token or observer ticket appears anywhere in a real server
process's output (its banner, uvicorn's access and WebSocket lines, the app's logs), while the real pages and every
URL that carries a credential are used; the observer page observes with a ticket, and integrators' `?token=` works;
the banner prints only a generated key; the redaction itself (access lines, bearer keys, tracebacks).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from security_testkit import ANSWER, API_KEY, ServerProcess, hr, schedule, start_process
from services_testkit import unavailable

from server.cli import _banner
from server.log_redaction import install, redact, redact_record
from server.runtime import Runtime
from server.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
# A credential-bearing parameter whose value was not replaced.
UNREDACTED = re.compile(r"(?i)\b(?:[a-z_]*token|key|ticket)=(?!\[redacted\])[^&\s\"']+")


async def _pong(ws: Any) -> None:
    await ws.send(json.dumps({"type": "ping"}))
    while json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "pong":
        pass


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed at {CHROMIUM}; install it with: sudo .ci/install-browser")
    return CHROMIUM


async def _observe_page_with_key(base: str, interview_id: str, question: str) -> Any:
    """HR's observer page in Chromium, signed in with the key; returns (playwright, browser, page) once it shows
    the first question (the page observes through a ticket)."""
    from playwright.async_api import async_playwright

    pw = await async_playwright().start()
    browser = await pw.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
    )
    page = await (await browser.new_context(locale="en-US")).new_page()
    await page.goto(f"{base}/hr/observe/{interview_id}")
    await page.locator("#api-key").fill(API_KEY)
    await page.locator("#key-form button[type=submit]").click()
    await page.locator("#transcript li.q", has_text=question).wait_for(timeout=20_000)
    return pw, browser, page


async def _integrator_and_ticket_observers(server: ServerProcess, iv: dict[str, Any]) -> str:
    """The HR key and the observer token in the URL (integrators), then a ticket; returns the ticket."""
    observe = f"{server.ws}/v1/interviews/{iv['id']}/observe"
    for credential in (API_KEY, iv["observer_token"]):
        async with websockets.connect(f"{observe}?token={credential}") as ws:
            await _pong(ws)
    async with httpx.AsyncClient(base_url=server.base) as c:
        r = await c.post(f"/v1/interviews/{iv['id']}/observer-ticket", headers=hr())
    assert r.status_code == 201, r.text
    ticket = str(r.json()["ticket"])
    async with websockets.connect(f"{observe}?ticket={ticket}") as ws:
        await _pong(ws)
    return ticket


def assert_no_secrets(out: str, secrets: list[str]) -> None:
    assert "HR API key: the one set in SHANMIAN_API_KEY" in out, "a key the operator set is not printed"
    for secret in secrets:
        assert secret not in out
    assert UNREDACTED.search(out) is None, UNREDACTED.search(out)


async def _interview(cand: Any, answer_first: bool = True) -> dict[str, Any]:
    """Hello, then the first question (returned); with `answer_first`, every question is answered up to `closed`."""
    await cand.send(json.dumps({"type": "hello", "mode": "text"}))
    while (first := json.loads(await asyncio.wait_for(cand.recv(), 30)))["type"] != "question":
        pass
    if answer_first:
        await _answer_until_closed(cand)
    return dict(first)


async def _answer_until_closed(cand: Any) -> None:
    await cand.send(json.dumps({"type": "answer", "text": ANSWER}))
    while (message := json.loads(await asyncio.wait_for(cand.recv(), 60)))["type"] != "closed":
        if message["type"] == "question":
            await cand.send(json.dumps({"type": "answer", "text": ANSWER}))


@pytest.mark.timeout(240)
async def test_no_key_token_or_ticket_in_a_server_process_output(tmp_path: Path) -> None:
    server = await start_process(tmp_path)
    try:
        iv = await schedule(server.base)
        secrets = [API_KEY, iv["candidate_token"], iv["observer_token"]]
        iid, token = iv["id"], iv["candidate_token"]
        async with httpx.AsyncClient(base_url=server.base) as c:
            # What the candidate's page and an observer link fetch, each with its credential in the URL.
            for path in (
                f"/join/{iid}?token={token}",
                f"/join/{iid}/info?token={token}",
                f"/hr/observe/{iid}?token={iv['observer_token']}",
                f"/v1/interviews/{iid}/report?token={token}",
                f"/health?key={API_KEY}",
            ):
                assert (await c.get(path)).status_code < 500, path
            offer = await c.post(f"/v1/interviews/{iid}/rtc/offer?token={token}", json={"sdp": "v=0", "type": "x"})
            assert offer.status_code < 500
        secrets.append(await _integrator_and_ticket_observers(server, iv))
        async with websockets.connect(f"{server.ws}/v1/interviews/{iid}/stream?token={token}") as cand:
            await _interview(cand)
    finally:
        await server.stop()

    out = server.text()
    # The lines that used to carry credentials are there, with their values replaced.
    assert f'"WebSocket /v1/interviews/{iid}/stream?token=[redacted]" [accepted]' in out, out[-3000:]
    assert f"GET /join/{iid}/info?token=[redacted]" in out
    assert "/observe?ticket=[redacted]" in out
    assert_no_secrets(out, secrets)


@pytest.mark.timeout(240)
async def test_the_observer_page_follows_with_a_ticket_and_leaves_no_credential_in_the_output(
    tmp_path: Path, chromium: Path
) -> None:
    server = await start_process(tmp_path)
    pw = browser = None
    try:
        iv = await schedule(server.base)
        iid = iv["id"]
        async with websockets.connect(f"{server.ws}/v1/interviews/{iid}/stream?token={iv['candidate_token']}") as cand:
            first = await _interview(cand, answer_first=False)
            pw, browser, page = await _observe_page_with_key(server.base, iid, first["text"])
            await _answer_until_closed(cand)
            await page.locator("#closed-note [data-closed='completed']").wait_for(timeout=20_000)
    finally:
        if browser is not None:
            await browser.close()
        if pw is not None:
            await pw.stop()
        await server.stop()

    out = server.text()
    assert f"/v1/interviews/{iid}/observe?ticket=[redacted]" in out, "the page observed with a ticket"
    assert f"/v1/interviews/{iid}/observe?token=" not in out, "not with a key or token in the URL"
    assert_no_secrets(out, [API_KEY, iv["candidate_token"], iv["observer_token"]])


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


def test_a_logged_traceback_is_redacted_too() -> None:
    logger = logging.getLogger("tests.security.redaction")
    install()
    try:
        raise ConnectionError("GET http://host/v1/interviews/1/stream?token=s3cr3t-candidate failed")
    except ConnectionError:
        record = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    text = logging.Formatter().format(record)
    assert "s3cr3t-candidate" not in text and "token=[redacted]" in text
