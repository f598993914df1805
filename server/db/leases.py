"""Leases on live interviews: which node runs each one, until when, and the fencing token its writes carry.

A node takes an interview's lease when it opens the session (a takeover raises the fence: the newest connection wins),
renews it every third of SHANMIAN_LEASE_S, and every write the session makes compares its fence in the write's own
transaction (`guard`): a node that lost the lease can no longer change the interview, whatever it still believes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.db.status import InterviewStatus
from server.db.tables import InterviewRow, LeaseRow

log = logging.getLogger(__name__)

# This process, as lease rows name it: host and pid, plus a random part so that a restarted process reusing a pid
# (containers start every process as pid 1) is never taken for its predecessor.
NODE = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Fence:
    """What a session's writes carry: the interview, and the fencing token its node was given with the lease."""

    interview_id: str
    token: int


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease as stored: held by `node` under `fence` until `expires_at` (unless renewed)."""

    interview_id: str
    node: str
    fence: int
    expires_at: datetime


class LeaseLost(RuntimeError):
    """The interview's lease has a newer fence than the writer's: another node (or the sweeper) took it over, and
    this write was refused. The session that made it is stale: it stops without writing anything more."""

    def __init__(self, fence: Fence) -> None:
        super().__init__(f"interview {fence.interview_id}: the lease under fence {fence.token} was taken over")
        self.fence = fence


async def guard(session: AsyncSession, fence: Fence) -> None:
    """The compare-and-set every fenced write begins its transaction with: raises LeaseLost unless `fence` is
    still the interview's newest.

    An UPDATE rather than a SELECT: it locks the lease row until the write commits (PostgreSQL's row lock, SQLite's
    write lock), so a takeover waits for a write already under way, and a write after the takeover sees its fence.
    """
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
        update(LeaseRow)
        .where(LeaseRow.interview_id == fence.interview_id, LeaseRow.fence == fence.token)
        .values(fence=fence.token)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LeaseLost(fence)


def _lease(row: LeaseRow) -> Lease:
    return Lease(row.interview_id, row.node, row.fence, row.expires_at)


class Leases:
    """The lease table's reads and writes for one node."""

    def __init__(self, engine: AsyncEngine, lease_s: float, *, node: str = NODE, clock: Clock = utc_now) -> None:
        self.lease_s = lease_s
        self.node = node
        self.clock = clock
        self._session = async_sessionmaker(engine, expire_on_commit=False)

    def _until(self) -> datetime:
        return self.clock() + timedelta(seconds=self.lease_s)

    async def take(self, interview_id: str) -> Fence:
        """The interview's lease for this node under a fence higher than any before: whoever held it is fenced off
        (a candidate's newest connection wins, even over a node that still believes it runs the interview)."""
        try:
            return await self._take(interview_id)
        except IntegrityError:
            # Another node created the first lease at the same moment: take it over from that one. A second failure
            # is not that race (the interview is gone: its foreign key) and is raised.
            return await self._take(interview_id)

    async def _take(self, interview_id: str) -> Fence:
        now = self.clock()
        async with self._session() as s, s.begin():
            token = await s.scalar(
                update(LeaseRow)
                .where(LeaseRow.interview_id == interview_id)
                .values(fence=LeaseRow.fence + 1, node=self.node, expires_at=self._until(), acquired_at=now)
                .returning(LeaseRow.fence)
                .execution_options(synchronize_session=False)
            )
            if token is None:
                token = 1
                s.add(
                    LeaseRow(
                        interview_id=interview_id,
                        node=self.node,
                        fence=token,
                        expires_at=self._until(),
                        acquired_at=now,
                    )
                )
        return Fence(interview_id, token)

    async def renew(self, fence: Fence) -> None:
        """Push the lease's expiry a lease length ahead; raises LeaseLost if it was taken over."""
        async with self._session() as s, s.begin():
            result: CursorResult[Any] = await s.execute(  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
                update(LeaseRow)
                .where(LeaseRow.interview_id == fence.interview_id, LeaseRow.fence == fence.token)
                .values(expires_at=self._until())
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                raise LeaseLost(fence)

    async def lease(self, interview_id: str) -> Lease | None:
        async with self._session() as s:
            row = await s.get(LeaseRow, interview_id)
        return None if row is None else _lease(row)

    async def expired(self, before: datetime) -> list[Lease]:
        """The leases of live interviews that expired before `before`: their node stopped renewing them."""
        query = (
            select(LeaseRow)
            .join(InterviewRow, InterviewRow.id == LeaseRow.interview_id)
            .where(InterviewRow.status == InterviewStatus.LIVE, LeaseRow.expires_at < before)
            .order_by(LeaseRow.expires_at)
        )
        async with self._session() as s:
            return [_lease(row) for row in (await s.scalars(query)).all()]

    async def claim_expired(self, lease: Lease, before: datetime) -> Fence | None:
        """Take over `lease` as read, if it is still expired before `before` and nobody took it meanwhile: the
        fence it returns (None when another claim or a reconnect won) lets exactly one sweeper resolve it."""
        async with self._session() as s, s.begin():
            token = await s.scalar(
                update(LeaseRow)
                .where(
                    LeaseRow.interview_id == lease.interview_id,
                    LeaseRow.fence == lease.fence,
                    LeaseRow.expires_at < before,
                )
                .values(fence=LeaseRow.fence + 1, node=self.node, acquired_at=self.clock())
                .returning(LeaseRow.fence)
                .execution_options(synchronize_session=False)
            )
        return None if token is None else Fence(lease.interview_id, token)


class HeldLease:
    """A lease this node holds for one live session: renewed every third of its length until released, and
    `on_lost` awaited once if a renewal finds it taken over (a node that cannot reach the database keeps trying:
    its writes are fenced all the same if it was taken over meanwhile)."""

    def __init__(self, leases: Leases, fence: Fence) -> None:
        self.leases = leases
        self.fence = fence
        self._task: asyncio.Task[None] | None = None

    def start(self, on_lost: Callable[[], Awaitable[None]]) -> None:
        self._task = asyncio.create_task(self._renew(on_lost), name=f"lease:{self.fence.interview_id}")

    async def _renew(self, on_lost: Callable[[], Awaitable[None]]) -> None:
        every = self.leases.lease_s / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self.leases.renew(self.fence)
            except LeaseLost:
                self._task = None  # on_lost releases this lease: not a cancellation of the task running it
                log.info("interview %s: lease taken over by another node; stopping here", self.fence.interview_id)
                await on_lost()
                return
            except Exception as exc:  # the database is away: the next renewal tries again
                log.warning("interview %s: lease renewal failed: %s", self.fence.interview_id, type(exc).__name__)

    async def still_held(self) -> bool:
        """Renewed now, if it is still this session's (a reconnect to this node checks before resuming). With the
        database away it is taken to be: the session's writes are fenced all the same."""
        try:
            await self.leases.renew(self.fence)
        except LeaseLost:
            return False
        except Exception as exc:
            log.warning("interview %s: lease check failed: %s", self.fence.interview_id, type(exc).__name__)
        return True

    def release(self) -> None:
        """Stop renewing; the row stays (it says who ran the interview last) and expires."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
