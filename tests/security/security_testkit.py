"""Servers for the security tests: model-free (text interviews, rules and templates only), so each starts in about
a second, either as a real `shanmian serve` process whose whole output is kept, or in this process with its app.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets
from server_testkit import SUITE_TOKEN_KEY, start_server
from sqlalchemy import inspect, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from server.db.store import Store
from server.db.tables import InterviewRow
from server.runtime import Runtime
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sec-hr-key-6f1d2a9c4b7e0f3a"  # distinctive, so a search of the output cannot miss it
# A job with its questions given: the plan is taken as written, no model drafts it.
JOB = {
    "title": "Backend Engineer",
    "description": "Builds and runs the services behind the product.",
    "requirements": ["Python", "PostgreSQL"],
    "language": "en",
    "questions": [{"text": "Tell me about a service you built."}, {"text": "How did you know it worked?"}],
}
ANSWER = (
    "I built an order service in Python with PostgreSQL; I measured its latency with Prometheus, added "
    "load tests before each release, and kept the p99 under 200 ms by caching the price lookups."
)
# Model-free: no language, scoring, wording, planning or speech model is loaded.
QUIET = {
    "llm_backend": "none",
    "score_backend": "none",
    "plan_model": "none",
    "llm_wording": False,
    "llm_wording_fallback": "none",
    "voice": False,
    # Tests open many stream connections from 127.0.0.1; the limit itself: test_security_stream_rates.py.
    "stream_handshakes_burst": 1_000_000,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def quiet_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHANMIAN_")}
    env.update(
        {f"SHANMIAN_{k.upper()}": ("1" if v is True else "0" if v is False else str(v)) for k, v in QUIET.items()}
    )
    env.update(
        SHANMIAN_API_KEY=API_KEY,
        SHANMIAN_PORT=str(port),
        SHANMIAN_DATA_DIR=str(data_dir),
        SHANMIAN_TOKEN_KEY=SUITE_TOKEN_KEY,
        SHANMIAN_LOG_LEVEL="INFO",  # uvicorn's access and WebSocket lines are logged at INFO
        PYTHONUNBUFFERED="1",
    )
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    proc: asyncio.subprocess.Process
    base: str
    output: Path  # stdout and stderr together

    @property
    def ws(self) -> str:
        return self.base.replace("http", "ws", 1)

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def start_process(data_dir: Path, **extra: str) -> ServerProcess:
    """`python -m server.cli serve` (what the `shanmian` script runs) on a free port; its output goes to a file."""
    port = free_port()
    output = data_dir / "server-output.log"
    with output.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "serve", cwd=ROOT, env=quiet_env(data_dir, port, **extra),
            stdout=sink, stderr=sink,
        )  # fmt: skip
    server = ServerProcess(proc, f"http://127.0.0.1:{port}", output)
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            if proc.returncode is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}:\n{server.text()}")
            try:
                if (await client.get(server.base + "/health")).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    await server.stop()
    raise RuntimeError(f"the server did not answer /health within 60 s:\n{server.text()}")


@dataclass
class InProcessServer:
    base: str
    settings: Settings
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def ws(self) -> str:
        return self.base.replace("http", "ws", 1)

    @property
    def app(self) -> Any:
        return self.server.config.app

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, timeout=15)


async def start_in_process(data_dir: Path, **overrides: Any) -> InProcessServer:
    """A real uvicorn server on a loopback port in this process, model-free, with chosen settings."""
    values: dict[str, Any] = {
        **QUIET,
        "api_key": API_KEY,
        "port": free_port(),
        "data_dir": data_dir,
        "reconnect_grace_s": 2.0,
        "hello_timeout_s": 5.0,
        "log_level": "WARNING",
    }
    values.update(overrides)
    settings = Settings.from_env({}, **values)
    server, task = await start_server(settings, await Runtime.load(settings))
    return InProcessServer(f"http://127.0.0.1:{settings.port}", settings, server, task)


def hr(key: str = API_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def schedule(base: str, mode: str = "text", job: dict[str, Any] | None = None) -> dict[str, Any]:
    """A job, a candidate and an interview on the server at `base`; the interview as created."""
    async with httpx.AsyncClient(base_url=base, headers=hr(), timeout=60) as c:
        j = await c.post("/v1/jobs", json=job or JOB)
        assert j.status_code == 201, j.text
        cand = await c.post("/v1/candidates", json={"name": "Grace Hopper", "email": "grace@example.org"})
        assert cand.status_code == 201, cand.text
        iv = await c.post(
            "/v1/interviews", json={"job_id": j.json()["id"], "candidate_id": cand.json()["id"], "mode": mode}
        )
        assert iv.status_code == 201, iv.text
        return dict(iv.json())


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message)


async def stream_refusal(url: str) -> tuple[Any, ...]:
    """A stream's whole answer to a connection it refuses: each message (times left out), then the close code."""
    messages = []
    async with websockets.connect(url) as ws:
        try:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                message.pop("t", None)
                messages.append(message)
        except websockets.ConnectionClosed as closed:
            return (tuple(json.dumps(m, sort_keys=True) for m in messages), closed.rcvd and closed.rcvd.code)
    raise AssertionError("the server kept the connection open")


async def complete(ws_base: str, iv: dict[str, Any]) -> list[dict[str, Any]]:
    """Take a scheduled text interview to its end over the candidate stream; the messages before `closed`."""
    async with websockets.connect(f"{ws_base}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}") as ws:
        await ws.send(dumps({"type": "hello", "mode": "text"}))
        seen = []
        while (message := json.loads(await asyncio.wait_for(ws.recv(), 60)))["type"] != "closed":
            seen.append(message)
            if message["type"] == "question":
                await ws.send(dumps({"type": "answer", "text": ANSWER}))
        return seen


async def backdate(settings: Settings, interview_id: str, **moments: datetime) -> None:
    """Set the interview's `ended_at` (or other moments) in its server's database, as if that time had passed."""
    engine = create_async_engine(settings.sqlalchemy_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(InterviewRow).where(InterviewRow.id == interview_id).values(**moments))
    finally:
        await engine.dispose()


async def database_text(url: str) -> str:
    """Every row of every table of the database at `url` (a SQLAlchemy URL), as text: what a copy of it would show."""
    store = await Store.open(url)
    try:
        async with store.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            return "\n".join([await _table_text(conn, t) for t in tables])
    finally:
        await store.close()


async def _table_text(conn: AsyncConnection, table: str) -> str:
    rows = (await conn.execute(text(f'SELECT * FROM "{table}"'))).all()
    return "\n".join(f"{table}: {tuple(row)!r}" for row in rows)
