"""A real HTTP receiver for webhook tests: a tiny ASGI app under uvicorn on a loopback port that records every
request and answers from a script (e.g. five 500s, then 200)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """`answers` are (status, extra headers) used in order, then `default` for every later request."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    default: int = 200
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.received.append(Received(headers, body))
        self._arrived.set()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        status, extra = self.answers.pop(0) if self.answers else (self.default, {})
        answer = f"answer {len(self.received)}: {status}".encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/plain"), *((k.encode(), v.encode()) for k, v in extra.items())],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    async def start(self) -> Receiver:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(
            uvicorn.Config(self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, timeout=10)

    async def wait_for(self, ready: Callable[[list[Received]], bool], seconds: float = 30.0) -> list[Received]:
        """The requests received once `ready(received)` holds (or `seconds` pass: the caller's assertion says what not)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not ready(self.received) and loop.time() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), max(deadline - loop.time(), 0.01))
            except TimeoutError:
                break
        return self.received

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if json.loads(r.body)["type"] == event_type]
