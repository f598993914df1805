"""Shared test fixtures: the embedded models loaded once, a real server on a loopback port, service detection.

Tests marked `redis` or `postgres` need those servers: skipped with a how-to on a laptop without them, and a
hard failure where SHANMIAN_REQUIRE_SERVICES=1 (CI), so a green CI always means they really ran (other needs go
through `services_testkit.unavailable`, the same rule at run time).
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import uvicorn
from server_testkit import Api, start_server, stop_server
from services_testkit import required

from server.runtime import Runtime
from server.settings import Settings

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "interviews"
REDIS_URL = os.environ.get("SHANMIAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Test modules open many stream connections from 127.0.0.1 against one server; the handshake limit itself is
# pinned in tests/security/test_security_stream_rates.py.
UNLIMITED_HANDSHAKES = 1_000_000
POSTGRES_URL = os.environ.get("SHANMIAN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SERVICE_HINTS = {
    "redis": (REDIS_URL, "start it with: redis-server --daemonize yes --port 6379 --save '' --appendonly no"),
    "postgres": (
        POSTGRES_URL,
        "start it with: pg_ctlcluster $(ls /etc/postgresql) main start  (trust auth, user postgres)",
    ),
}


def _reachable(url: str) -> bool:
    parts = urlparse(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=1):
            return True
    except OSError:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for service, (url, hint) in SERVICE_HINTS.items():
        marked = [i for i in items if service in i.keywords]
        if not marked or _reachable(url):
            continue
        message = f"{service} is not reachable at {url}; {hint}"
        if required():
            raise pytest.UsageError(f"SHANMIAN_REQUIRE_SERVICES=1 but {message}")
        for item in marked:
            item.add_marker(pytest.mark.skip(reason=message))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """Call it for a loopback port nothing listened on a moment ago (one call per server the test starts)."""
    return _free_port


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
async def embedded_runtime() -> AsyncIterator[Runtime]:
    """The embedded LLM, loaded once for every server the tests start."""
    # The suite runs one interview at a time, so the scoring model may use both cores (the server's default of one
    # thread keeps it from competing with live sessions).
    runtime = await Runtime.load(Settings.from_env({}, api_key="unused", score_threads=2))
    yield runtime
    await runtime.aclose()


@dataclass
class LiveServer:
    base: str
    settings: Settings

    @property
    def ws(self) -> str:
        return self.base.replace("http", "ws", 1)

    @property
    def api_key(self) -> str:
        return self.settings.api_key


@pytest.fixture(scope="module")
async def live_server(embedded_runtime: Runtime) -> AsyncIterator[LiveServer]:
    """A real server on a loopback port with its own SQLite file, sharing the embedded models."""
    with tempfile.TemporaryDirectory(prefix="shanmian-test-") as data:
        settings = Settings.from_env(
            {},
            api_key="test-key",
            port=_free_port(),
            data_dir=Path(data),
            reconnect_grace_s=2.0,
            hello_timeout_s=5.0,
            plan_model="none",  # rule-based plans at once; model-drafted ones: tests/server/test_server_jobs.py
            stream_handshakes_burst=UNLIMITED_HANDSHAKES,
        )
        server, task = await start_server(settings, embedded_runtime)
        yield LiveServer(f"http://127.0.0.1:{settings.port}", settings)
        await stop_server(server, task)


@pytest.fixture
def api(live_server: LiveServer) -> Api:
    """HR's REST client for `live_server`."""
    return Api(live_server.base, live_server.api_key)


# --- servers with chosen settings (observer, bus, store and two-process tests) ------------------------------


@dataclass
class AppServer(LiveServer):
    """A LiveServer that also hands out its app, for tests that look at its bus or its live sessions."""

    app: Any = None


class ServerFactory:
    """Starts real servers on loopback ports with chosen settings; all stopped at the end of the test module."""

    def __init__(self, runtime: Runtime, data_dir: Path) -> None:
        self.runtime = runtime
        self.data_dir = data_dir
        self._running: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(self, **overrides: Any) -> AppServer:
        values: dict[str, Any] = {
            "api_key": "test-key",
            "port": _free_port(),
            "data_dir": self.data_dir,
            "reconnect_grace_s": 2.0,
            "hello_timeout_s": 5.0,
            "plan_model": "none",  # rule-based plans at once, as in live_server
            "stream_handshakes_burst": UNLIMITED_HANDSHAKES,
        }
        values.update(overrides)
        settings = Settings.from_env({}, **values)
        server, task = await start_server(settings, self.runtime)
        self._running.append((server, task))
        return AppServer(f"http://127.0.0.1:{settings.port}", settings, server.config.app)

    async def stop(self, server: AppServer) -> None:
        for s, task in list(self._running):
            if s.config.port == server.settings.port:
                self._running.remove((s, task))
                await stop_server(s, task)

    async def stop_all(self) -> None:
        while self._running:
            await stop_server(*self._running.pop())


@pytest.fixture(scope="module")
async def server_factory(embedded_runtime: Runtime) -> AsyncIterator[ServerFactory]:
    """Start servers with `await server_factory.start(**settings)`; each module gets its own data folder."""
    with tempfile.TemporaryDirectory(prefix="shanmian-test-") as data:
        factory = ServerFactory(embedded_runtime, Path(data))
        yield factory
        await factory.stop_all()


@pytest.fixture
def redis_prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    """A Redis key prefix of this test's own; its keys are deleted afterwards."""
    import uuid

    import redis as redis_sync

    prefix = f"shanmian-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis_sync.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
async def postgres_database() -> AsyncIterator[str]:
    """A throwaway PostgreSQL database for this test session (dropped afterwards); its URL."""
    import uuid

    import asyncpg

    name = f"shanmian_test_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await run(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        await run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def fresh_postgres(postgres_database: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test (dropped after it): for tests that read every row of a table
    (the audit chain, expired leases), which other tests' rows in the session's database would disturb."""
    import uuid

    import asyncpg

    name = f"shanmian_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_database)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{postgres_database.rpartition('/')[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis (SHANMIAN_TEST_REDIS_URL, default 127.0.0.1:6379/0); use it with `redis_prefix`."""
    return REDIS_URL
