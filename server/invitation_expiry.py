"""The invitation expiry round: a node's worker that closes the interviews of invitation links that expired unused,
so an expired invitation's join link stops working too (not only the invitation link), HR's lists show the
interview abandoned (end reason `invitation_expired`) and integrators get `interview.abandoned`.

Any number of nodes may run it on one database: each closing is a compare-and-set (server/db/invitations.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from server.db.invitations import SqlInvitations
from server.polling import PollingWorker

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class InvitationExpiry(PollingWorker):
    def __init__(self, invitations: SqlInvitations, *, poll_s: float, clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__("invitation expiry", "ix", poll_s)
        self.invitations = invitations
        self.clock = clock

    async def run_once(self) -> int:
        closed = await self.invitations.close_expired(self.clock())
        for interview_id in closed:
            log.info("interview %s abandoned: its invitation expired before it began", interview_id)
        return len(closed)
