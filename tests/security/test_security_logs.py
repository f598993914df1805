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
from server_testkit import REPORT_WAIT_S
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


async def _candidate_page_answers_everything(page: Any, join_url: str) -> None:
    """The candidate's page (its token in its URL, as invited): consent, text mode, every question answered."""
    await page.goto(join_url)
    await page.locator("#consent").check()
    await page.locator("input[name=mode][value=text]").check()
    await page.locator("#start").click()
    await page.locator("#question").wait_for()
    for _ in range(10):
        if await page.locator("#overall").is_visible():
            return
        if not await page.locator("#answer").is_visible():
            # The closing answer is in: the page waits for the report, which follows scoring.
            await page.locator("#overall").wait_for(timeout=REPORT_WAIT_S * 1000)
            return
        asked = await page.locator("#question").inner_text()
        await page.locator("#answer").fill(ANSWER)
        await page.locator("#answer").press("Control+Enter")
        await page.wait_for_function(
            # The interview view closes (`closed` came) or the next question shows. An absent element must not
            # count as shown, or this returns at once and the same question is answered twice.
            "(asked) => document.querySelector('#interview').classList.contains('hidden')"
            " || document.querySelector('#question').innerText !== asked",
            arg=asked,
            timeout=30_000,
        )
    await page.locator("#overall").wait_for(timeout=30_000)


@pytest.mark.timeout(240)
async def test_the_real_pages_leave_no_credential_in_the_output(tmp_path: Path, chromium: Path) -> None:
    from playwright.async_api import async_playwright

    server = await start_process(tmp_path)
    pw = await async_playwright().start()
    try:
        browser = await pw.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        iv = await schedule(server.base)
        iid = iv["id"]
        candidate = await (await browser.new_context(locale="en-US")).new_page()
        observer = await (await browser.new_context(locale="en-US")).new_page()
        await candidate.goto(iv["join_url"])  # the invitation link: the page checks its token first
        await observer.goto(f"{server.base}/hr/observe/{iid}")
        await observer.locator("#api-key").fill(API_KEY)
        await observer.locator("#key-form button[type=submit]").click()
        await observer.locator("[data-presence='waiting']").wait_for(timeout=20_000)
        # An observer link (observer token in the page's URL) follows with a ticket too; the token opens the
        # interview while it is scheduled or live, so the link is opened before the candidate answers.
        observer_link = f"{server.base}/hr/observe/{iid}?token={iv['observer_token']}"
        linked = await (await browser.new_context(locale="en-US")).new_page()
        await linked.goto(observer_link)
        await linked.locator("body[data-connected='1']").wait_for(state="attached", timeout=20_000)
        await _candidate_page_answers_everything(candidate, iv["join_url"])
        for page in (observer, linked):
            await page.locator("#closed-note [data-closed='completed']").wait_for(timeout=20_000)
        # Opened after the end, the link is refused once, and the page says why instead of asking again.
        late = await (await browser.new_context(locale="en-US")).new_page()
        await late.goto(observer_link)
        await late.locator("#banner.error", has_text="only while the interview is scheduled or live").wait_for()
        await browser.close()
    finally:
        await pw.stop()
        await server.stop()

    out = server.text()
    assert f"/v1/interviews/{iid}/stream?token=[redacted]" in out, "the candidate's page joined"
    assert out.count(f"/v1/interviews/{iid}/observe?ticket=[redacted]") >= 2, "both observer pages used tickets"
    assert f"/v1/interviews/{iid}/observe?token=" not in out, "not a key or token in the URL"
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
