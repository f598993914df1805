"""What a stream needs of its connection, whatever carries it, and the protocol's messages over one.

`Transport` is the one contract: frames in (JSON text or binary audio), text out, a close. The WebSocket adapter
(server/stream/websocket.py) and the WebRTC data channel (server/stream/rtc_peer.py) implement it; tests use
an in-memory pair. `Connection` adds what every stream says the same way: typed messages stamped with the
session clock, `error`, and a close that sends `closed` first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Protocol

from server.stream.messages import ClosedOut, ErrorOut, Out, encode

CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008


class LinkClosed(Exception):
    """The connection is gone (closed, dropped, or it stopped taking what is sent)."""


class Transport(Protocol):
    async def receive(self) -> str | bytes:
        """The next frame; raises LinkClosed once the peer has gone."""
        ...

    async def send_text(self, data: str) -> None:
        """Raises LinkClosed when the frame cannot be delivered."""
        ...

    async def close(self, code: int, reason: str) -> None:
        """Close the connection; never raises."""
        ...


class Connection:
    """The stream protocol over one transport. After a failed send or a close, sends raise LinkClosed."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.open = True  # sends are still attempted
        self._closed = False
        self.clock: Callable[[], float] | None = None  # the session's, once the connection is in one

    async def receive(self) -> str | bytes:
        return await self.transport.receive()

    async def send_text(self, data: str) -> None:
        if not self.open:
            raise LinkClosed("the connection is closed")
        try:
            await self.transport.send_text(data)
        except LinkClosed:
            self.open = False
            raise

    async def send(self, message: Out) -> None:
        if self.clock is not None and not message.t:
            message.t = self.clock()
        await self.send_text(encode(message))

    async def error(self, code: str, message: str) -> None:
        await self.send(ErrorOut(code=code, message=message))

    async def close(self, reason: str, code: int = CLOSE_NORMAL, *, announce: bool = True) -> None:
        """Close with `closed` first, as the protocol promises (unless the session already said it). Idempotent;
        a connection whose sends failed is still closed, so a peer that stopped reading is let go.
        """
        if self._closed:
            return
        if announce and self.open:
            with contextlib.suppress(LinkClosed):
                await self.send(ClosedOut(reason=reason))
        self.open = False
        self._closed = True
        await self.transport.close(code, reason)

    async def fail(self, code: str, message: str, close_code: int = CLOSE_NORMAL) -> None:
        """An error the connection cannot go on after: say it, then close."""
        with contextlib.suppress(LinkClosed):
            await self.error(code, message)
        await self.close(code, close_code)
