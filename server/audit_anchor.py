"""The audit chain's head anchored outside the database: the anchor file (`SHANMIAN_AUDIT_ANCHOR`, default
`<data dir>/audit-anchor.jsonl`), one JSON line `{"seq", "hash", "at"}` per head, and the job that appends the
head to it when it moved, every `SHANMIAN_AUDIT_ANCHOR_INTERVAL_S` and once more at a clean shutdown.

Someone who can write the database can rewrite the chain from any entry to its head consistently; the heads
already anchored are then no longer in it, which `shanmian audit verify` finds (server/db/audit_chain.py). That
holds as long as they cannot rewrite this file too: operators ship it off the machine (syslog, object storage).
Each node appends to its own file (or to one shared file: a line is one append of its own).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from server.db import audit_log
from server.db.audit_chain import Anchor
from server.polling import PollingWorker

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AnchorFile:
    """The anchors read from a file, in the order written, and how many lines could not be read (a line cut short
    by a crash mid-write, or anything else that is not an anchor): those are left out, not checked."""

    anchors: list[Anchor]
    unreadable: int


def anchor_line(anchor: Anchor) -> bytes:
    document = {"seq": anchor.seq, "hash": anchor.hash, "at": anchor.at.astimezone(UTC).isoformat()}
    return json.dumps(document, separators=(",", ":")).encode() + b"\n"


def _anchor(line: bytes) -> Anchor | None:
    try:
        document = json.loads(line)
        seq, digest, at = document["seq"], document["hash"], datetime.fromisoformat(document["at"])
    except (ValueError, TypeError, KeyError):
        return None
    if type(seq) is not int or not isinstance(digest, str) or at.tzinfo is None:
        return None
    return Anchor(seq, digest, at)


def read_anchors(path: Path) -> AnchorFile:
    """The file's anchors (blocking: call it off the event loop); FileNotFoundError when there is no file."""
    anchors, unreadable = [], 0
    with path.open("rb") as file:
        for line in file:
            if not line.strip():
                continue
            anchor = _anchor(line)
            if anchor is None:
                unreadable += 1
            else:
                anchors.append(anchor)
    return AnchorFile(anchors, unreadable)


def append_anchor(path: Path, anchor: Anchor) -> None:
    """Appends the anchor as one write and waits until it is on disk (blocking: call it off the event loop)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, anchor_line(anchor))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _last_anchored(path: Path) -> tuple[int, str] | None:
    """The head this file anchored last, so that a restarted node does not anchor the same head again."""
    try:
        anchors = read_anchors(path).anchors
    except FileNotFoundError:
        return None
    return (anchors[-1].seq, anchors[-1].hash) if anchors else None


class HeadAnchor(PollingWorker):
    """The job, started with the server's services; `anchor` is one round, callable directly (tests)."""

    def __init__(self, engine: AsyncEngine, path: Path, interval_s: float, *, clock: Clock = utc_now) -> None:
        super().__init__("audit anchor", "an", interval_s)
        self.engine = engine
        self.path = path
        self.clock = clock
        self._last: tuple[int, str] | None = None
        self._read_last = False

    async def run_once(self) -> int:
        await self.anchor()
        return 0

    async def anchor(self) -> Anchor | None:
        """Appends the chain's head to the file unless it is the one anchored last (or the chain is empty); the
        anchor written, or None."""
        if not self._read_last:
            self._last = await asyncio.to_thread(_last_anchored, self.path)
            self._read_last = True
        state = await audit_log.chain_state(self.engine)
        head = (state.head_seq, state.head_hash)
        if state.head_seq < state.start_seq or head == self._last:
            return None
        anchor = Anchor(state.head_seq, state.head_hash, self.clock())
        await asyncio.to_thread(append_anchor, self.path, anchor)
        self._last = head
        return anchor

    async def aclose(self) -> None:
        """Stops the rounds, then anchors the head once more: what this node appended up to its shutdown is
        covered. Call it after everything else that appends has stopped, before the database closes."""
        await super().aclose()
        try:
            await self.anchor()
        except Exception:  # the database gone first: the previous round's anchor stands
            log.exception("audit anchor: the head could not be anchored at shutdown")
