"""A WebSocket as a stream `Transport`, with an optional bound on each send for peers that stop reading."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect

from server.stream.transport import LinkClosed


class WebSocketTransport:
    """With `send_timeout_s`, a send that nothing accepts within that time ends the connection (LinkClosed)."""

    def __init__(self, socket: WebSocket[Any, Any, Any], send_timeout_s: float | None = None) -> None:
        self.socket = socket
        self.send_timeout_s = send_timeout_s

    async def receive(self) -> str | bytes:
        try:
            event: Any = await self.socket.receive()
        except WebSocketDisconnect:
            raise LinkClosed("disconnected") from None
        if event["type"] == "websocket.disconnect":
            raise LinkClosed("disconnected")
        data = event.get("bytes")
        if data is not None:
            return bytes(data)
        return str(event.get("text") or "")

    async def send_text(self, data: str) -> None:
        try:
            async with asyncio.timeout(self.send_timeout_s):
                await self.socket.send_text(data)
        except TimeoutError:
            raise LinkClosed(f"nothing was accepted for {self.send_timeout_s:.0f} s") from None
        except Exception as exc:
            raise LinkClosed(str(exc) or type(exc).__name__) from exc

    async def close(self, code: int, reason: str) -> None:
        # A peer that reads nothing would also never take the close frame; giving up lets the server drop it.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self.socket.close(code=code, reason=reason[:120])
