"""What the app's handlers are given: the store, the models, the live interviews, plan drafts, recordings and WebRTC
peers, each a Litestar dependency of the same name.

Started in one explicit order, each after what it uses, and stopped in the reverse, so nothing outlives what it
needs: no service reaches another through `app.state`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from litestar.di import Provide

from server.audit_anchor import HeadAnchor
from server.bus import Bus
from server.db.leases import Leases
from server.db.sealed_tokens import adopt_key, seal_plain_tokens
from server.db.store import Store
from server.planning import Drafts, redraft_unfinished
from server.privacy.erasure import Eraser
from server.privacy.retention import Retention
from server.runtime import Runtime
from server.settings import Settings
from server.stream.lease_sweeper import LeaseSweeper
from server.stream.recording import Recordings
from server.stream.registry import LiveInterviews
from server.stream.rtc import RtcPeers
from server.token_vault import load_vault
from server.webhooks import Webhooks

T = TypeVar("T")
log = logging.getLogger(__name__)


class Services:
    """A plain class, not a dataclass: Litestar would try to validate a dataclass dependency field by field."""

    def __init__(self, settings: Settings, bus: Bus, runtime: Runtime | None = None) -> None:
        self.settings = settings
        self.bus = bus  # started and stopped by its Channels plugin, around the app's lifespan
        self._shared_runtime = runtime is not None  # shared across apps (tests): its owner loads and closes it
        self._runtime = runtime
        self._store: Store | None = None
        self._live: LiveInterviews | None = None
        self._drafts: Drafts | None = None
        self._recordings: Recordings | None = None
        self._rtc_peers: RtcPeers | None = None
        self._webhooks: Webhooks | None = None
        self._eraser: Eraser | None = None
        self._retention: Retention | None = None
        self._sweeper: LeaseSweeper | None = None
        self._anchor: HeadAnchor | None = None

    async def start(self) -> None:
        """Store, then models, then what runs on both: live interviews, plan drafts (resuming unfinished ones),
        recordings and WebRTC peers; the eraser, the retention job (its first run now), the lease sweeper and the audit
        head's anchor need only the store."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        vault = load_vault(self.settings.token_key, self.settings.data_dir)
        self._store = await Store.open(self.settings.sqlalchemy_url, vault)
        await adopt_key(self._store.engine, vault)  # before any token is sealed or opened here
        if sealed := await seal_plain_tokens(self._store.engine, vault):
            log.info("sealed the tokens of %d interviews and invitations stored in plain text", sealed)
        self._webhooks = Webhooks(self._store, self.settings)  # the outbox first: every state change yields its event
        self._webhooks.start()
        self._eraser = Eraser(self._store, self.bus, self.settings.recordings_path)
        self._retention = Retention(self._store, self.settings)
        self._retention.start()
        leases = Leases(self._store.engine, self.settings.lease_s)
        self._sweeper = LeaseSweeper(
            leases, self._store, self.bus, grace_s=self.settings.reconnect_grace_s, on_resolved=self._close_recordings
        )
        self._sweeper.start()
        self._anchor = HeadAnchor(
            self._store.engine, self.settings.audit_anchor_path, self.settings.audit_anchor_interval_s
        )
        self._anchor.start()
        if self._runtime is None:
            self._runtime = await Runtime.load(self.settings)
        self._live = LiveInterviews(
            self._store, self.bus.plugin, self._runtime, self.settings, leases=leases, bus=self.bus
        )
        self._drafts = Drafts()
        planner = self._runtime.planner if self.settings.plan_model != "none" else None
        await redraft_unfinished(self._store, planner, self._drafts)
        self._recordings = Recordings(self._store, self.settings)
        await self._recordings.close_leftovers()  # before any session here could resume one of them
        self._rtc_peers = RtcPeers(self.settings)

    async def _close_recordings(self, interview_ids: list[str]) -> None:
        """Interviews the lease sweeper resolved: their recordings, once this node handles recordings, are finished
        and `complete` where the files are on its disk, instead of staying `recording` until their own node starts."""
        if self._recordings is not None:
            await self._recordings.close_leftovers(interview_ids)

    async def stop(self) -> None:
        """The reverse: WebRTC peers (their streams end), recordings (files finished), drafts, live interviews,
        then the models and the store they used."""
        if self._rtc_peers is not None:
            await self._rtc_peers.shutdown()
        if self._recordings is not None:
            await self._recordings.shutdown()
        if self._drafts is not None:
            await self._drafts.aclose()
        if self._live is not None:
            await self._live.shutdown()
        if self._runtime is not None and not self._shared_runtime:
            await self._runtime.aclose()
        if self._webhooks is not None:
            await self._webhooks.aclose()
        if self._retention is not None:
            await self._retention.aclose()
        if self._sweeper is not None:
            await self._sweeper.aclose()
        if self._anchor is not None:  # last before the store: it anchors the head all the others left
            await self._anchor.aclose()
        if self._store is not None:
            await self._store.close()
        self._webhooks = self._eraser = self._retention = self._sweeper = self._anchor = None
        self._store = self._live = self._drafts = self._recordings = self._rtc_peers = None
        if not self._shared_runtime:
            self._runtime = None

    def providers(self) -> dict[str, Provide]:
        """The dependencies by name; asking for one before `start` (or after `stop`) is a RuntimeError."""
        return {
            "settings": _provide(lambda: self.settings),
            "bus": _provide(lambda: self.bus),
            "store": _provide(lambda: self._store),
            "runtime": _provide(lambda: self._runtime),
            "live_interviews": _provide(lambda: self._live),
            "drafts": _provide(lambda: self._drafts),
            "recordings": _provide(lambda: self._recordings),
            "rtc_peers": _provide(lambda: self._rtc_peers),
            "webhooks": _provide(lambda: self._webhooks),
            "eraser": _provide(lambda: self._eraser),
        }

    @property
    def store(self) -> Store:
        return _started(self._store)

    @property
    def webhooks(self) -> Webhooks:
        return _started(self._webhooks)


def _started(service: T | None) -> T:
    if service is None:
        raise RuntimeError("the server's services are not started (or already stopped)")
    return service


def _provide(get: Callable[[], Any]) -> Provide:
    return Provide(lambda: _started(get()), sync_to_thread=False)
