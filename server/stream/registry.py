"""The live interviews of this process, by id: opened on a candidate's first hello, kept through reconnects,
and rebuilt from the stored turns when the process that ran one has died (its status is still `live`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

import msgspec
from litestar.channels import ChannelsPlugin

from dialogue.follow_up import FollowUpPolicy
from dialogue.interviewer import Interviewer
from dialogue.session import AnswerFinished, Ask, AskFollowUp, AskRephrased, Finish, Question, SessionAction, Turn
from server.bus import Bus, BusUnavailable
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
        bus: Bus | None = None,
    ) -> None:
        self.store = store
        self.channels = channels
        self.runtime = runtime
        self.settings = settings
        self.bus = bus
        self._live: dict[str, LiveInterview] = {}
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
                return live
            fresh = await self.store.interview(row.id)
            if fresh is None or fresh.status in ENDED:
                raise InterviewEnded(f"interview {row.id} is {fresh.status if fresh else 'gone'}")
            if len(self._live) >= self.settings.max_live_sessions:
                raise NodeFull(f"this server runs {len(self._live)} interviews, its limit")
            row = fresh
            job = await self.store.job(row.job_id)
            if job is None:
                raise LookupError(f"interview {row.id} refers to job {row.job_id}, which no longer exists")
            plan = await self.store.interview_plan(row) or plan_from_json(job.plan)  # its pinned version
            interviewer = Interviewer(
                plan,
                self.runtime.interviewer_models(plan.language),
                FollowUpPolicy(max_per_question=self.settings.max_follow_ups),
            )
            live = LiveInterview(
                row.id,
                plan,
                interviewer,
                store=self.store,
                channels=self.channels,
                grace_s=self.settings.reconnect_grace_s,
                on_end=self._forget,
            )
            if row.status == InterviewStatus.LIVE:
                await self._recover(live)
            if not live.finished:
                self._live[row.id] = live
            return live

    async def _recover(self, live: LiveInterview) -> None:
        """Rebuild a session another process was running: replay its stored answers into the fresh interviewer."""
        turns = await self.store.turns(live.interview_id)
        pending, finished = replay(live.interviewer, turns)
        question = None if pending is None else QuestionOut.of(pending, live.plan.language)
        live.restore(question, await self._last_seq(live.interview_id))
        log.info("interview %s recovered from %d stored turns", live.interview_id, len(turns))
        if finished is not None:
            await live.finish(finished)

    async def _last_seq(self, interview_id: str) -> int:
        """Where the interview's event stream stopped, so observers still following it see the rest as new."""
        if self.bus is not None:
            try:
                for raw in reversed(await self.bus.history(interview_id)):
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

    def _forget(self, live: LiveInterview) -> None:
        if self._live.get(live.interview_id) is live:
            del self._live[live.interview_id]

    async def shutdown(self) -> None:
        for live in list(self._live.values()):
            await live.shutdown()
        self._live.clear()


def replay(interviewer: Interviewer, turns: list[Turn]) -> tuple[Question | None, str | None]:
    """Drive a fresh interviewer's session through stored answers (its rules are deterministic given them).

    Returns the question now waiting for an answer, or the reason the session finished. Each question is set to
    the words stored with its turn (a model may have worded it), and the stored turns replace the replayed ones.
    """
    session = interviewer.session
    action: SessionAction = session.start()
    for turn in turns:
        current = session.current
        if current is None:
            log.warning("replay: turn %d came after the session had finished; ignored", turn.seq)
            break
        if current.question_id != turn.question_id:
            log.warning(
                "replay: turn %d answered %s, the rules now ask %s", turn.seq, turn.question_id, current.question_id
            )
        session.asked(replace(current, text=turn.question_text, kind=turn.question_kind))
        action = session.handle(AnswerFinished(turn.answer, turn.start, turn.end))
    session.turns[:] = turns
    match action:
        case Ask(question) | AskFollowUp(question=question) | AskRephrased(question=question):
            return question, None
        case Finish(reason):
            return None, reason
    return session.current, None
