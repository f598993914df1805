"""The order in which answers are read by a scoring model: one at a time, and a report someone waits for first.

Answers are judged in the background as turns end, so with several interviews at once the scorer has a queue. A
plain first-come queue makes a closing candidate wait behind every other session's background judging; here each
session holds an `Urgency`, raised when its report is being built, and the next answer to read is the oldest one
of a waiting report, else the oldest one. Raising it lifts the session's answers that are already queued.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass(slots=True)
class Urgency:
    """One session's claim on the scorer: `waiting` once its report is being built."""

    waiting: bool = False


@dataclass(order=True, slots=True)
class _Waiter:
    order: int
    urgency: Urgency = field(compare=False)
    ready: asyncio.Future[None] = field(compare=False)


class ReadQueue:
    """Admits `slots` answers at a time (one for a model in this process), urgent ones first, else in arrival order."""

    def __init__(self, slots: int = 1) -> None:
        self._free = slots
        self._waiting: list[_Waiter] = []
        self._arrivals = itertools.count()

    @property
    def depth(self) -> int:
        """Answers waiting for a slot."""
        return len(self._waiting)

    @asynccontextmanager
    async def slot(self, urgency: Urgency | None = None) -> AsyncIterator[None]:
        await self._acquire(urgency or Urgency())
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, urgency: Urgency) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        waiter = _Waiter(next(self._arrivals), urgency, asyncio.get_running_loop().create_future())
        self._waiting.append(waiter)
        try:
            await waiter.ready
        except asyncio.CancelledError:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
            elif waiter.ready.done() and not waiter.ready.cancelled():
                self._release()  # handed a slot in the same moment it was cancelled: pass it on
            raise

    def _release(self) -> None:
        self._free += 1
        while self._free > 0 and self._waiting:
            urgent = [w for w in self._waiting if w.urgency.waiting]
            nxt = min(urgent or self._waiting)
            self._waiting.remove(nxt)
            if nxt.ready.done():
                continue
            try:
                nxt.ready.set_result(None)
            except RuntimeError:  # its event loop is closed: nobody is left to take the slot
                continue
            self._free -= 1
