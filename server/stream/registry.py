"""The live interviews of this process, by id: opened on a candidate's hello under the interview's lease (taken
over from any other node: the newest connection wins), kept through reconnects while the lease is still theirs, and
rebuilt from the stored turns when another process ran the interview before (its status is still `live`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

import msgspec
from litestar.channels import ChannelsPlugin

from dialogue.follow_up import FollowUpPolicy
from dialogue.interviewer import Interviewer
from server.bus import Bus, BusUnavailable
from server.db.leases import HeldLease, Leases
from server.db.status import ENDED, InterviewStatus
from server.db.store import InterviewEnded, Store, plan_from_json
from server.db.tables import InterviewRow
from server.runtime import Runtime
from server.settings import Settings
from server.stream.live import LiveInterview
from server.stream.messages import EventHead, QuestionOut

log = logging.getLogger(__name__)

_head = msgspec.json.Decoder(EventHead)


class NodeFull(RuntimeError):
    """This node already runs SHANMIAN_MAX_LIVE_SESSIONS interviews; a new one is to be retried (or sent elsewhere)."""


class LiveInterviews:
    def __init__(
        self,
        store: Store,
        channels: ChannelsPlugin,
        runtime: Runtime,
        settings: Settings,
        *,
        leases: Leases,
        bus: Bus | None = None,
    ) -> None:
        self.store = store
        self.leases = leases
        self.channels = channels
        self.runtime = runtime
        self.settings = settings
        self.bus = bus
        self._live: dict[str, LiveInterview] = {}
        self._voice_ids: set[str] = set()  # the live ones in voice mode
        # Those of them whose audio is being listened to: the scorer leaves the cores to them.
        self._voice: set[str] = set()
        self._opening = asyncio.Lock()

    def get(self, interview_id: str) -> LiveInterview | None:
        return self._live.get(interview_id)

    def __len__(self) -> int:
        return len(self._live)

    async def open(self, row: InterviewRow) -> LiveInterview:
        """The interview's live session, opened from its stored row as it is now (`row` may be stale: read when the
        connection was authorised, before another connection finished the interview).

        Raises InterviewEnded for a completed or abandoned interview, NodeFull when this node runs its limit.
        """
        async with self._opening:
            live = self._live.get(row.id)
            if live is not None:
                if live.lease is None or await live.lease.still_held():
                    return live
                await live.fenced_off()  # another node ran it since: this one's state is stale, rebuild it
            fresh = await self.store.interview(row.id)
            if fresh is None or fresh.status in ENDED:
                raise InterviewEnded(f"interview {row.id} is {fresh.status if fresh else 'gone'}")
            if len(self._live) >= self.settings.max_live_sessions:
                raise NodeFull(f"this server runs {len(self._live)} interviews, its limit")
            # Taken before the stored state is read: any node that held the interview can write nothing after this,
            # so what is read now is all there will be (its turns, or its end).
            lease = HeldLease(self.leases, await self.leases.take(row.id))
            fresh = await self.store.interview(row.id)
            if fresh is None or fresh.status in ENDED:
                raise InterviewEnded(f"interview {row.id} is {fresh.status if fresh else 'gone'}")
            row = fresh
            job = await self.store.job(row.job_id)
            if job is None:
                raise LookupError(f"interview {row.id} refers to job {row.job_id}, which no longer exists")
            plan = await self.store.interview_plan(row) or plan_from_json(job.plan)  # its pinned version
            interviewer = Interviewer(
                plan,
                self.runtime.interviewer_models(plan.language),
                FollowUpPolicy(max_per_question=self.settings.max_follow_ups),
                follow_up_wait_s=None if row.mode == "text" else self.settings.follow_up_wait_s,
            )
            live = LiveInterview(
                row.id,
                plan,
                interviewer,
                store=self.store,
                channels=self.channels,
                grace_s=self.settings.reconnect_grace_s,
                on_end=self._forget,
                on_listening=self._listening,
                lease=lease,
            )
            lease.start(live.fenced_off)
            if row.status == InterviewStatus.LIVE:
                await self._recover(live, row.started_at)
            if not live.finished:
                self._live[row.id] = live
                if row.mode != "text":
                    self._voice_ids.add(row.id)
                    self._voice.add(row.id)
                    self.runtime.scoring_threads.voice_sessions += 1
            return live

    async def _recover(self, live: LiveInterview, started_at: datetime | None) -> None:
        """Rebuild a session another process was running: its state machine replays the stored answers."""
        turns = await self.store.turns(live.interview_id)
        replayed = live.interviewer.session.replay(turns)
        question = None if replayed.question is None else QuestionOut.of(replayed.question, live.plan.language)
        elapsed_s = 0.0 if started_at is None else (datetime.now(UTC) - started_at).total_seconds()
        live.restore(question, await stream_position(self.bus, live.interview_id), elapsed_s)
        log.info("interview %s recovered from %d stored turns", live.interview_id, len(turns))
        if replayed.finished is not None:
            await live.finish(replayed.finished)

    def _listening(self, live: LiveInterview, listening: bool) -> None:
        """A voice session building its report needs no speech recognition: the scorer, which that report waits
        on, may have the cores until the session goes on (the closing answer was a request to rephrase) or ends."""
        if self._live.get(live.interview_id) is not live or live.interview_id not in self._voice_ids:
            return
        if listening and live.interview_id not in self._voice:
            self._voice.add(live.interview_id)
            self.runtime.scoring_threads.voice_sessions += 1
        elif not listening and live.interview_id in self._voice:
            self._voice.discard(live.interview_id)
            self.runtime.scoring_threads.voice_sessions -= 1

    def _forget(self, live: LiveInterview) -> None:
        if self._live.get(live.interview_id) is live:
            del self._live[live.interview_id]
            self._voice_ids.discard(live.interview_id)
            if live.interview_id in self._voice:
                self._voice.discard(live.interview_id)
                self.runtime.scoring_threads.voice_sessions -= 1

    async def shutdown(self) -> None:
        for live in list(self._live.values()):
            await live.shutdown()
        self._live.clear()
        self.runtime.scoring_threads.voice_sessions -= len(self._voice)
        self._voice.clear()
        self._voice_ids.clear()


async def stream_position(bus: Bus | None, interview_id: str) -> int:
    """Where the interview's event stream stopped, so observers still following it see the rest as new."""
    if bus is not None:
        try:
            for raw in reversed(await bus.history(interview_id)):
                seq = _head.decode(raw).seq
                if seq:
                    return seq
            return 0
        except BusUnavailable as exc:
            log.warning(
                "interview %s: event history unavailable (%s); numbering events by the clock", interview_id, exc
            )
    # Larger than any count an earlier process can have reached, so nothing new is taken for a duplicate.
    return int(time.time() * 1000)
