"""A small test client for the REST API and the candidate stream, used by the server and web tests."""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import os
import sys
import tempfile
import threading
import traceback
import wave
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets
from litestar import Litestar

from dialogue.plan import Requisition, build_plan
from server.app import create_app
from server.cli import WS_MAX_BYTES
from server.db.store import Store, plan_to_json
from server.runtime import Runtime
from server.settings import Settings

FINAL_TYPES = ("closed",)
# How long a test waits for something that follows scoring (the report, a synchronous POST .../score): every answer
# is read by the 1.5B scoring model as its turn ends, so the report follows the closing answer within seconds on an
# idle 2-core box (bench/scoring.py measures it). A bound on a hang, under the suite's per-test timeout, not on speed.
REPORT_WAIT_S = 180.0
ROOT = Path(__file__).resolve().parents[1]
# The token key (server/token_vault.py) of every server the suite starts, unless a test gives its own.
SUITE_TOKEN_KEY = "shanmian-test-suite-token-key-0123456789"
# A test server starts in well under a second (a model-free one) or a few (models shared from the suite's runtime);
# past this its start-up hangs, and start_server says on what, well before the suite's per-test timeout.
STARTUP_LIMIT_S = 90.0

# A job's plan as stored, for jobs a test writes straight into the database: every REST read of a job parses it (and
# a shared PostgreSQL shows one test's jobs to the others).
STORED_PLAN = plan_to_json(build_plan(Requisition("Tester", "", ("testing",), "en")))


def interview_scenario(fixtures_dir: Path, name: str = "backend_en") -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A fixture interview's job (with its questions) and its clips, from its manifest."""
    manifest = json.loads((fixtures_dir / name / "manifest.json").read_text())
    questions = [{"text": q} for q in manifest["scenario"]["questions"]]
    return dict(manifest["scenario"]["job"], questions=questions), manifest["clips"]


def answer_for(clips: list[dict[str, Any]], question: dict[str, Any]) -> str:
    """The text of the clip that answers a `question` message: the strong answer, the follow-up's, the closing's."""
    want = {"closing": {"role": "closing_answer"}, "follow_up": {"role": "follow_up_answer"}}.get(
        question["kind"], {"role": "answer", "question": question["index"], "quality": "strong"}
    )
    return next(str(c["text"]) for c in clips if all(c.get(k) == v for k, v in want.items()))


@dataclass
class Api:
    base: str
    key: str

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def post(self, path: str, body: Any, *, auth: bool = True) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base, timeout=REPORT_WAIT_S) as c:
            return await c.post(path, json=body, headers=self._headers() if auth else {})

    async def get(self, path: str, *, auth: bool = True, **params: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base, timeout=REPORT_WAIT_S) as c:
            return await c.get(path, params=params, headers=self._headers() if auth else {})

    async def interview(self, job: dict[str, Any], mode: str = "text", name: str = "Test Candidate") -> dict[str, Any]:
        """A job, a candidate and an interview; returns the interview as created."""
        j = await self.post("/v1/jobs", job)
        assert j.status_code == 201, j.text
        c = await self.post("/v1/candidates", {"name": name})
        assert c.status_code == 201, c.text
        iv = await self.post("/v1/interviews", {"job_id": j.json()["id"], "candidate_id": c.json()["id"], "mode": mode})
        assert iv.status_code == 201, iv.text
        return iv.json()

    async def poll(
        self, path: str, ready: Callable[[dict[str, Any]], bool], seconds: float = REPORT_WAIT_S
    ) -> dict[str, Any]:
        """GET `path` until its body is `ready` (or `seconds` pass: the caller's assertion then says what is not).

        Work the server finishes after the connection ends (a turn, the grace period, a recording's file) takes
        as long as the machine needs: wait for it, not for a fixed time.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            body: dict[str, Any] = (await self.get(path)).json()
            if ready(body) or loop.time() > deadline:
                return body
            await asyncio.sleep(0.1)

    async def settled(self, interview_id: str) -> dict[str, Any]:
        """The interview once it is no longer live (completed or abandoned)."""
        return await self.poll(f"/v1/interviews/{interview_id}", lambda b: b["status"] not in ("scheduled", "live"))


class Stream:
    """The candidate's side of one WebSocket connection."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, url: str) -> Stream:
        return cls(await websockets.connect(url, max_size=2**22))

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    async def next(self, seconds: float = 30) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), seconds)
        message: dict[str, Any] = json.loads(raw)
        self.received.append(message)
        return message

    async def until(self, kind: str, seconds: float = REPORT_WAIT_S) -> dict[str, Any]:
        """Messages up to and including the first of `kind`."""
        while True:
            message = await self.next(seconds)
            if message["type"] == kind:
                return message

    async def take(self, kinds: tuple[str, ...], n: int, seconds: float = REPORT_WAIT_S) -> list[dict[str, Any]]:
        """The next `n` messages whose type is one of `kinds`; others arriving meanwhile stay in `received` only.

        Waiting for the messages themselves, not for a quiet spell: exact counts then hold however slow the box.
        """
        got: list[dict[str, Any]] = []
        while len(got) < n:
            message = await self.next(seconds)
            if message["type"] in kinds:
                got.append(message)
        return got

    async def replay(self) -> list[dict[str, Any]]:
        """An observer's history, all of it; once it returns, the observer is following live.

        The server subscribes, sends the history, and only then answers frames: the pong marks the seam.
        """
        start = len(self.received)
        await self.send({"type": "ping"})
        await self.until("pong")
        return [m for m in self.received[start:] if m["type"] != "pong"]

    async def close(self) -> None:
        await self.ws.close()


def read_wav(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        return w.readframes(w.getnframes())


FRAME_BYTES = 640  # 20 ms of 16 kHz mono s16


async def play(ws: websockets.ClientConnection, pcm: bytes, pace: float = 2.0, frame: int = FRAME_BYTES) -> None:
    """Send PCM as a microphone would, `pace` times faster than real time (the server drops audio beyond 2x)."""
    for i in range(0, len(pcm), frame):
        await ws.send(pcm[i : i + frame])
        await asyncio.sleep(frame / 32000 / pace)


async def silence_until(
    stream: Stream, kinds: tuple[str, ...], pace: float = 2.0, max_s: float = 12.0
) -> dict[str, Any]:
    """Send silence until a message of one of `kinds` arrives (or `max_s` seconds of audio have been sent)."""
    quiet = b"\0" * FRAME_BYTES
    pending = asyncio.ensure_future(stream.next(120))
    sent = 0.0
    try:
        while True:
            while not pending.done():
                if sent < max_s:
                    await stream.ws.send(quiet)
                    sent += 0.02
                await asyncio.wait([pending], timeout=0.02 / pace)
            message = pending.result()
            if message["type"] in kinds:
                return message
            pending = asyncio.ensure_future(stream.next(120))
    finally:
        if not pending.done():
            pending.cancel()


def report_views_apart(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events with the `report` message's body left out: observers (HR) get the full report, the candidate their
    own view of it, and every other event is the same for both."""
    return [{**m, "report": None} if m["type"] == "report" else m for m in events]


def assert_hr_and_candidate_reports(observed: list[dict[str, Any]], candidate: list[dict[str, Any]]) -> None:
    hr = next(m["report"] for m in observed if m["type"] == "report")
    own = next(m["report"] for m in candidate if m["type"] == "report")
    assert "recommendation" in hr and "recommendation" not in own, "HR sees the recommendation, the candidate not"


async def start_server(settings: Settings, runtime: Runtime | None) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """`settings` without a token key get the suite's: the suite's servers are nodes of one deployment (they share
    the session's PostgreSQL database), and such nodes share their key as an operator's would."""
    if not settings.token_key:
        settings = replace(settings, token_key=SUITE_TOKEN_KEY)
    app = create_app(settings, runtime)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, ws_max_size=WS_MAX_BYTES, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_LIMIT_S
    while not server.started:
        if task.done():
            task.result()
        if loop.time() > deadline:
            where = what_runs()
            task.cancel()
            raise RuntimeError(f"the server on port {settings.port} did not start in {STARTUP_LIMIT_S:.0f} s\n{where}")
        await asyncio.sleep(0.02)
    return server, task


def what_runs() -> str:
    """Where every task of this loop is suspended (down its chain of awaits) and where every thread is: a start-up
    that hangs is reported with the await it hangs on, not as the test's bare timeout in the loop's selector."""
    lines = []
    for task in asyncio.all_tasks():
        lines.append(f"task {task.get_name()}:")
        awaited: Any = task.get_coro()
        while awaited is not None:
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "ag_frame", None)
            if frame is not None:
                lines.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
                awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "ag_await", None)
                continue
            lines.append(f"  awaits {awaited!r:.300}")
            # An async context manager's step (`asend`) names its generator only among its references.
            awaited = next((r for r in gc.get_referents(awaited) if inspect.isasyncgen(r)), None)
    names = {t.ident: t.name for t in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        lines.append(f"thread {names.get(ident, ident)}:")
        lines += [f"  {line.strip()}" for line in traceback.format_stack(frame)[-6:]]
    return "\n".join(lines)


async def stop_server(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    await asyncio.wait_for(task, timeout=15)


@dataclass(frozen=True)
class ModelFreeServer:
    base: str
    store: Store
    data_dir: Path


@asynccontextmanager
async def model_free_server(port: int, api_key: str, prefix: str, **settings: Any) -> AsyncIterator[ModelFreeServer]:
    """A real server in this process on `port` with HR key `api_key`: SQLite in a folder of its own (named from
    `prefix`), no speech recognition, language or scoring model, rate limits out of the way; `settings` are added to
    those (or replace them)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as data:
        config = Settings.from_env(
            {},
            **{
                "api_key": api_key,
                "port": port,
                "data_dir": Path(data),
                "voice": False,
                "llm_backend": "none",
                "score_backend": "none",
                "plan_model": "none",
                "rate_limit_per_minute": 1_000_000,
                **settings,
            },
        )
        server, task = await start_server(config, Runtime(config))
        app = server.config.app
        assert isinstance(app, Litestar)
        try:
            yield ModelFreeServer(f"http://127.0.0.1:{config.port}", app.state.services.store, Path(data))
        finally:
            await stop_server(server, task)


async def start_process(env: dict[str, str], port: int) -> tuple[asyncio.subprocess.Process, str]:
    """`shanmian serve` as a process of its own (templates only, no speech recognition), with `env` over this
    process's environment; returns it once its /health answers, and its base URL."""
    full = {
        **os.environ,
        **env,
        "SHANMIAN_API_KEY": "two-process-key",
        "SHANMIAN_TOKEN_KEY": SUITE_TOKEN_KEY,
        "SHANMIAN_PORT": str(port),
        "SHANMIAN_LLM_BACKEND": "none",  # templates only: each process starts in a second, loading no model
        "SHANMIAN_VOICE": "0",
        "SHANMIAN_LOG_LEVEL": "WARNING",
        "SHANMIAN_STREAM_HANDSHAKES_BURST": "1000000",  # a test's every client connects from 127.0.0.1
    }
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "server.cli", "serve", cwd=ROOT, env=full)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if proc.returncode is not None:
                raise RuntimeError(f"the server process exited with {proc.returncode}")
            try:
                if (await client.get(base + "/health")).status_code == 200:
                    return proc, base
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server process did not answer /health within 30 s")


@asynccontextmanager
async def two_processes(env: dict[str, str], free_port: Callable[[], int]) -> AsyncIterator[tuple[str, str]]:
    """Two `start_process` servers on the same `env` (one database, one Redis); their base URLs. Started one after
    the other: both would otherwise run the migrations at once on an empty database."""
    a, base_a = await start_process(env, free_port())
    b, base_b = await start_process(env, free_port())
    try:
        yield base_a, base_b
    finally:
        for proc in (a, b):
            proc.terminate()
        for proc in (a, b):
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def clear_redis_prefix(redis_url: str, prefix: str) -> None:
    """Delete what an earlier run left under `prefix` (the shared test Redis outlives test sessions)."""
    import redis as redis_sync

    client = redis_sync.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
