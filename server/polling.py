"""The loop every background worker runs (mail, reminders, webhooks, invitation expiry, the lease sweeper,
retention): a round, then the next at once if that round did work, else a wait until woken or the poll interval
passes; a failed round (the database away for a moment) is logged and the loop goes on.

Workers subclass `PollingWorker` and write only their `run_once`; `wake()` is how a request that just queued work
gets it handled without waiting for the next poll, and the poll is how work queued by other nodes is found.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from abc import ABC, abstractmethod

log = logging.getLogger(__name__)


class PollingWorker(ABC):
    def __init__(self, kind: str, prefix: str, poll_s: float) -> None:
        self.kind = kind
        self.poll_s = poll_s
        self.name = f"{prefix}_{secrets.token_hex(8)}"  # a claim's owner, unique across nodes
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def run_once(self) -> int:
        """One round; returns how much it did (0: nothing was due, so the loop waits)."""

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.kind} {self.name}")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                done = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away for a moment: log, wait, go on
                log.exception("%s %s: a round failed", self.kind, self.name)
                done = 0
            if done:
                continue  # more may be due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()
