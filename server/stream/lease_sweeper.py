"""The lease sweeper every node runs: interviews left live by a node that died (their lease expired longer ago than
the reconnect grace, and no candidate took them over) are resolved as abandoned, exactly once across nodes.

What an abandonment emits is emitted: the status change with its webhook event (the store's listeners, in the same
transaction) and `closed` on the interview's channel for observers still following it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from server.bus import Bus, channel_name
from server.db.leases import LeaseLost, Leases
from server.db.status import InterviewStatus
from server.db.store import Store
from server.polling import PollingWorker
from server.stream.messages import ClosedOut, encode
from server.stream.registry import stream_position

log = logging.getLogger(__name__)

# The end reason stored for an interview whose node stopped renewing its lease (a live session's own abandonment
# says "candidate_left").
NODE_LOST = "node_lost"


class LeaseSweeper(PollingWorker):
    """Started with the server's services; `sweep` is one pass, callable directly (tests, operators)."""

    def __init__(
        self,
        leases: Leases,
        store: Store,
        bus: Bus,
        *,
        grace_s: float,
        on_resolved: Callable[[list[str]], Awaitable[object]] | None = None,
    ) -> None:
        # As often as a lease is renewed: an interview is resolved within a third of a lease after it is due.
        super().__init__("lease sweeper", "ls", leases.lease_s / 3)
        self.leases = leases
        self.store = store
        self.bus = bus
        self.grace_s = grace_s
        # Told the interviews a pass resolved (their recordings are finished where this node can reach the files).
        self.on_resolved = on_resolved

    async def run_once(self) -> int:
        return len(await self.sweep())

    async def sweep(self) -> list[str]:
        """One pass; returns the interviews this pass marked abandoned."""
        cutoff = self.leases.clock() - timedelta(seconds=self.grace_s)
        resolved = []
        for lease in await self.leases.expired(cutoff):
            # The claim raises the fence: the dead node's writes are refused from now on, and of two sweepers (or a
            # sweeper and a reconnecting candidate) only one gets on.
            fence = await self.leases.claim_expired(lease, cutoff)
            if fence is None:
                continue
            try:
                changed = await self.store.set_status(
                    lease.interview_id, InterviewStatus.ABANDONED, reason=NODE_LOST, fence=fence
                )
            except LeaseLost:
                continue  # the candidate came back between the claim and the change: the interview goes on
            if not changed:
                continue
            log.info(
                "interview %s abandoned: its node %s stopped renewing the lease at %s",
                lease.interview_id,
                lease.node,
                lease.expires_at.isoformat(),
            )
            closed = ClosedOut(reason="abandoned", seq=await stream_position(self.bus, lease.interview_id) + 1)
            await self.bus.plugin.wait_published(encode(closed).encode(), channel_name(lease.interview_id))
            resolved.append(lease.interview_id)
        if resolved and self.on_resolved is not None:
            await self.on_resolved(resolved)
        return resolved
