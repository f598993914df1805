"""Two connected in-memory ends of a stream transport, for tests of stream logic without uvicorn or sockets.

In the spirit of aiortc's `dummy_connection_pair`: what one end sends, the other receives, in order; closing
either end ends both, as a dropped connection would.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from server.stream.transport import LinkClosed


class MemoryTransport:
    def __init__(self) -> None:
        self.peer: MemoryTransport | None = None
        self.inbox: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self.closed: tuple[int, str] | None = None  # (code, reason) of the end that closed first

    async def receive(self) -> str | bytes:
        frame = await self.inbox.get()
        if frame is None:
            self.inbox.put_nowait(None)  # every later receive sees the end too
            raise LinkClosed("the other end closed")
        return frame

    async def send_text(self, data: str) -> None:
        self._deliver(data)

    async def send_bytes(self, data: bytes) -> None:
        self._deliver(data)

    async def close(self, code: int, reason: str) -> None:
        if self.closed is not None:
            return
        self.closed = (code, reason)
        self.inbox.put_nowait(None)
        if self.peer is not None and self.peer.closed is None:
            self.peer.closed = (code, reason)
            self.peer.inbox.put_nowait(None)

    def _deliver(self, data: str | bytes) -> None:
        if self.closed is not None or self.peer is None:
            raise LinkClosed("the connection is closed")
        self.peer.inbox.put_nowait(data)

    async def message(self, seconds: float = 2.0) -> dict[str, Any]:
        """The next JSON message this end received."""
        async with asyncio.timeout(seconds):
            frame = await self.receive()
        assert isinstance(frame, str), frame
        return dict(json.loads(frame))

    def pending(self) -> list[dict[str, Any]]:
        """The JSON messages received and not yet read, without waiting."""
        out = []
        while not self.inbox.empty():
            frame = self.inbox.get_nowait()
            if frame is None:
                self.inbox.put_nowait(None)
                break
            assert isinstance(frame, str)
            out.append(json.loads(frame))
        return out


def memory_pair() -> tuple[MemoryTransport, MemoryTransport]:
    """(server end, client end)."""
    server, client = MemoryTransport(), MemoryTransport()
    server.peer, client.peer = client, server
    return server, client
