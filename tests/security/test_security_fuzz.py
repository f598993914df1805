"""Fuzz (hypothesis) over every client message type of the candidate and observer streams, before and after the
hello, and over the REST bodies: valid shapes with odd values, wrong types, unknown types, huge strings, binary where
text is expected, text that is not JSON. Against a real server: never a 5xx, never an `internal` error or a logged
exception, and the session goes on (a ping still answers) unless the frame itself legitimately ended it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_testkit import API_KEY, InProcessServer, hr, schedule, start_in_process

from server.stream.messages import CANDIDATE_TYPES, OBSERVER_TYPES

PROTOCOL_CODES = {
    "bad_message",
    "unsupported_audio",
    "unauthorized",
    "not_found",
    "session_closed",
    "too_large",
    "rate_limited",
}
ENDINGS = {"completed", "candidate_ended"}  # why an interview may close after a fuzzed frame: the frame ended it
FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
# Past the stream's 64 KiB message limit, under the WebSocket layer's 1 MiB frame limit (which closes the socket).
HUGE = st.builds(lambda n, ch: ch * n, st.integers(60_000, 300_000), st.sampled_from(["a", "测", '"', "\\"]))
TEXT = st.text(max_size=300) | HUGE | JSON
AUDIO = st.fixed_dictionaries(
    {},
    optional={
        "encoding": st.sampled_from(["pcm_s16le", "opus", ""]) | JSON,
        "sample_rate": st.integers(-(2**40), 2**40) | st.sampled_from([8000, 16000, 48000]) | JSON,
        "channels": st.integers(-3, 9) | JSON,
    },
)


def shaped(kind: Any, **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A message of `kind` whose fields may each be there or not, and odd; plus a stray field sometimes."""
    return st.fixed_dictionaries({"type": kind}, optional={**fields, "extra": JSON})


CANDIDATE = st.one_of(
    shaped(st.just("hello"), mode=st.sampled_from(["voice", "text", "video"]) | JSON, audio=AUDIO | JSON, consent=JSON),
    shaped(st.just("answer"), text=TEXT),
    *(shaped(st.just(kind)) for kind in ("rephrase", "repeat", "end", "ping")),
    shaped(st.text(max_size=20).filter(lambda k: k not in CANDIDATE_TYPES) | JSON),  # unknown or mistyped "type"
    st.fixed_dictionaries({}, optional={"text": TEXT, "mode": JSON}),  # no "type" at all
)
OBSERVER = st.one_of(
    shaped(st.just("comment"), text=TEXT),
    shaped(st.just("ping")),
    shaped(st.text(max_size=20).filter(lambda k: k not in OBSERVER_TYPES) | JSON),
)


def _json(value: Any) -> str:
    # Unescaped: a huge string of CJK characters stays under the 1 MiB frame limit, as a client would send it.
    return json.dumps(value, ensure_ascii=False)


def frames(messages: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[str | bytes]:
    """What a client may put on the wire: a message as JSON (NaN and Infinity too), or anything else."""
    return st.one_of(
        messages.map(_json),
        messages.map(_json),  # twice: most frames are shaped like messages
        st.text(max_size=200),  # not JSON, or JSON that is not an object
        JSON.map(_json),
        st.binary(max_size=4000),  # binary where text is expected (or odd-length audio)
        HUGE,
    )


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def logged_errors() -> Iterator[ErrorLog]:
    """Every ERROR logged while the module runs (uvicorn's logger does not propagate to the root)."""
    handler = ErrorLog()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory, logged_errors: ErrorLog) -> AsyncIterator[InProcessServer]:
    running = await start_in_process(
        tmp_path_factory.mktemp("fuzz"),
        # The fuzz itself is the flood: rate limits would answer most frames before they reach the stream.
        stream_rate_limit_per_minute=10_000_000,
        stream_rate_limit_burst=1_000_000,
        observer_comments_burst=1_000_000,
        rate_limit_per_minute=10_000_000,
        max_repeats_per_question=1_000_000,
        reconnect_grace_s=600.0,  # connections come and go between examples; the interview must not be abandoned
    )
    yield running
    await running.stop()
    assert not logged_errors.records, [r.getMessage() for r in logged_errors.records]


def check(message: dict[str, Any]) -> None:
    if message["type"] == "error":
        assert message["code"] in PROTOCOL_CODES, message
    if message["type"] == "closed":
        assert message["reason"] in ENDINGS, message


async def ping_answered(ws: Any, seen: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Sends a ping; the messages up to its pong (also added to `seen` as they come, for a caller that needs them
    when the server closes the connection first: then ConnectionClosed)."""
    seen = [] if seen is None else seen
    await ws.send(json.dumps({"type": "ping"}))
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        check(message)
        seen.append(message)
        if message["type"] == "pong":
            return seen


async def drained(ws: Any) -> list[dict[str, Any]]:
    """What the server sent before it closed the connection."""
    seen = []
    try:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            check(message)
            seen.append(message)
    except websockets.ConnectionClosed:
        return seen


class CandidateSession:
    """A candidate in a text interview; a new interview once a fuzzed `end` or answers have finished the last one."""

    def __init__(self, server: InProcessServer) -> None:
        self.server = server
        self.ws: Any = None
        self.ended = True
        self.sessions = 0

    async def ready(self) -> Any:
        if self.ended:
            if self.ws is not None:
                await self.ws.close()
            iv = await schedule(self.server.base)
            self.ws = await websockets.connect(
                f"{self.server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}", max_size=2**22
            )
            await self.ws.send(json.dumps({"type": "hello", "mode": "text"}))
            while json.loads(await asyncio.wait_for(self.ws.recv(), 30))["type"] != "question":
                pass
            self.ended = False
            self.sessions += 1
        return self.ws

    async def send(self, frame: str | bytes) -> None:
        ws = await self.ready()
        seen: list[dict[str, Any]] = []
        try:
            await ws.send(frame)
            await ping_answered(ws, seen)
        except websockets.ConnectionClosed:
            # An earlier answer (or `end`) finished the interview while this frame was on its way: its `closed`
            # came first, else the server dropped a live session.
            seen += await drained(ws)
            assert any(m["type"] == "closed" for m in seen), f"closed without `closed` after {frame[:200]!r}"
        if any(m["type"] == "closed" for m in seen):
            self.ended = True

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


@pytest.fixture(scope="module")
async def candidate(server: InProcessServer) -> AsyncIterator[CandidateSession]:
    session = CandidateSession(server)
    yield session
    await session.close()


@pytest.fixture(scope="module")
async def first_contact(server: InProcessServer) -> dict[str, Any]:
    """An interview for the fuzzing of first frames (the hello handshake)."""
    return await schedule(server.base)


@FUZZ
@given(frame=frames(CANDIDATE))
async def test_candidate_stream_survives_any_frame(candidate: CandidateSession, frame: str | bytes) -> None:
    await candidate.send(frame)


@FUZZ
@given(frame=frames(CANDIDATE))
async def test_the_hello_handshake_survives_any_first_frame(
    server: InProcessServer, first_contact: dict[str, Any], frame: str | bytes
) -> None:
    url = f"{server.ws}/v1/interviews/{first_contact['id']}/stream?token={first_contact['candidate_token']}"
    async with websockets.connect(url, max_size=2**22) as ws:
        await ws.send(frame)
        seen = await ping_answered(ws)
    assert not any(m["type"] == "closed" for m in seen)


@FUZZ
@given(frame=frames(OBSERVER))
async def test_observer_stream_survives_any_frame(
    server: InProcessServer, first_contact: dict[str, Any], frame: str | bytes
) -> None:
    url = f"{server.ws}/v1/interviews/{first_contact['id']}/observe?token={API_KEY}"
    async with websockets.connect(url, max_size=2**22) as ws:
        await ping_answered(ws)  # past the replay of the history
        await ws.send(frame)
        await ping_answered(ws)


REST = {
    "/v1/jobs": st.fixed_dictionaries(
        {},
        optional={
            "title": TEXT,
            "description": TEXT,
            "requirements": st.lists(TEXT, max_size=3) | JSON,
            "language": st.sampled_from(["en", "zh", "fr"]) | JSON,
            "dimensions": JSON,
            "questions": st.lists(st.fixed_dictionaries({"text": TEXT}), max_size=3) | JSON,
            "pass_threshold": JSON,
        },
    ),
    "/v1/candidates": st.fixed_dictionaries({}, optional={"name": TEXT, "email": TEXT, "resume_text": TEXT}),
    "/v1/interviews": st.fixed_dictionaries(
        {}, optional={"job_id": TEXT, "candidate_id": TEXT, "mode": JSON, "scheduled_at": TEXT}
    ),
}


@FUZZ
@given(route=st.sampled_from(sorted(REST)), data=st.data())
async def test_rest_bodies_never_answer_5xx(server: InProcessServer, route: str, data: st.DataObject) -> None:
    body = data.draw(REST[route] | JSON)
    async with httpx.AsyncClient(base_url=server.base, headers=hr(), timeout=60) as c:
        r = await c.post(route, content=json.dumps(body), headers={"content-type": "application/json"})
    assert r.status_code < 500, (route, body, r.text)
    if r.status_code >= 400:
        assert r.json()["error"]["code"] and r.json()["error"]["message"]
