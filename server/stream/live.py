"""A live interview in this process: its interviewer, its clock, and where each of its events goes.

Events go to the candidate's socket (if one is attached), to the interview's channel (observers on any node)
and, for turns and reports, to the database before anything that depends on them is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from litestar.channels import ChannelsPlugin

from dialogue.interviewer import (
    InterviewClosed,
    Interviewer,
    InterviewerEvent,
    QuestionAsked,
    ReportReady,
    TurnRecorded,
)
from dialogue.plan import InterviewPlan
from dialogue.report import candidate_view
from dialogue.session import SessionEvent
from server.bus import channel_name
from server.db.status import InterviewStatus
from server.db.store import Store
from server.stream.messages import (
    CandidateJoined,
    CandidateLeft,
    ClosedOut,
    Out,
    QuestionOut,
    ReportOut,
    encode,
)
from server.stream.transport import Connection, LinkClosed

log = logging.getLogger(__name__)


class SessionClosed(RuntimeError):
    """The interview has ended; nothing more can be said in it."""


class LiveInterview:
    def __init__(
        self,
        interview_id: str,
        plan: InterviewPlan,
        interviewer: Interviewer,
        *,
        store: Store,
        channels: ChannelsPlugin,
        grace_s: float,
        on_end: Callable[[LiveInterview], None],
    ) -> None:
        self.interview_id = interview_id
        self.plan = plan
        self.interviewer = interviewer
        self.store = store
        self.channels = channels
        self.grace_s = grace_s
        self._end_listeners: list[Callable[[LiveInterview], None]] = [on_end]
        self._t0 = time.monotonic()
        self._seq = 0
        self._lock = asyncio.Lock()
        self._grace: asyncio.Task[None] | None = None
        self.link: Connection | None = None
        self.last_question: QuestionOut | None = None
        self._question_sent_on: Connection | None = None  # the connection last_question was sent to
        self.started = False
        self.finished = False
        # Remarks the transport adds to the report (e.g. "not recorded: no consent"); scoring knows nothing of them.
        self.report_notes: list[str] = []
        # When the last answer was decided on and how long that took, and when the last question went out
        # (time.monotonic()): the turn-latency metrics read them (server/metrics.py).
        self.decision_s = 0.0
        self.decided_at = 0.0
        self.question_sent_at = 0.0

    def clock(self) -> float:
        return round(time.monotonic() - self._t0, 3)

    async def emit(
        self, message: Out, *, to_candidate: bool = True, to_observers: bool = True, same_as: Out | None = None
    ) -> None:
        """Stamp the message with the session clock and its place in the stream, then deliver it. `same_as` gives a
        candidate-only message the moment and place of the observers' version of one event (the report's views)."""
        message.t = self.clock() if same_as is None else same_as.t
        if to_observers:
            self._seq += 1
            message.seq = self._seq
        elif same_as is not None:
            message.seq = same_as.seq
        data = encode(message)
        if to_candidate and self.link is not None:
            try:
                await self.link.send_text(data)
            except LinkClosed:
                pass  # the candidate just went: the connection's end detaches it, and the session goes on
            except Exception as exc:  # a dead socket is the transport's to notice; the session goes on
                log.info("interview %s: could not send to the candidate: %s", self.interview_id, exc)
        if to_observers:
            self.channels.publish(data.encode(), channel_name(self.interview_id))

    # --- the candidate's connection --------------------------------------------------------------------

    async def attach(self, link: Connection) -> bool:
        """Attach a candidate connection; an older one is closed. Returns True when resuming a started session."""
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        previous, self.link = self.link, link
        if previous is not None and previous is not link:
            with contextlib.suppress(Exception):
                await previous.close("replaced by a newer connection with the same token")
        await self.emit(CandidateJoined(), to_candidate=False)
        return self.started

    async def detach(self, link: Connection) -> None:
        if self.link is not link:
            return
        self.link = None
        if self.finished:
            return
        await self.emit(CandidateLeft(), to_candidate=False)
        self._grace = asyncio.create_task(self._abandon_after_grace())

    async def _abandon_after_grace(self) -> None:
        await asyncio.sleep(self.grace_s)
        async with self._lock:
            if self.finished or self.link is not None:
                return
            self.finished = True
        log.info("interview %s abandoned: no reconnect within %.0f s", self.interview_id, self.grace_s)
        self.interviewer.stop()
        await self.store.set_status(self.interview_id, InterviewStatus.ABANDONED, reason="candidate_left")
        await self.emit(ClosedOut(reason="abandoned"), to_candidate=False)
        self._ended()

    # --- the conversation ---------------------------------------------------------------------------------

    async def begin(self) -> None:
        """Ask the first question, or, for a resumed session, the current one again."""
        async with self._lock:
            if not self.started:
                self.started = True
                await self.store.set_status(self.interview_id, InterviewStatus.LIVE)
                await self._apply(self.interviewer.start())
            elif self.last_question is not None and self._question_sent_on is not self.link:
                # Not when the old connection's last answer already brought this connection its question.
                await self.emit(self.last_question)
                self._question_sent_on = self.link

    async def submit(self, event: SessionEvent) -> None:
        async with self._lock:
            if self.finished:
                raise SessionClosed("the interview has ended")
            started = time.monotonic()
            events = await self.interviewer.handle(event)
            self.decided_at = time.monotonic()
            self.decision_s = self.decided_at - started
            await self._apply(events)

    async def _apply(self, events: Iterable[InterviewerEvent]) -> None:
        for event in events:
            match event:
                case TurnRecorded(turn):
                    await self.store.add_turn(self.interview_id, turn)
                case QuestionAsked(q):
                    self.last_question = QuestionOut.of(q, self.plan.language)
                    await self.emit(self.last_question)
                    self._question_sent_on = self.link
                    self.question_sent_at = time.monotonic()
                case ReportReady(report):
                    if self.report_notes:
                        report = replace(report, notes=(*report.notes, *self.report_notes))
                    await self.store.save_report(self.interview_id, report)
                    # Two views of one event, at one place in the stream: the candidate never receives what is
                    # meant for HR, and their stream stays contiguous.
                    hr = ReportOut(report=report)
                    await self.emit(hr, to_candidate=False)
                    await self.emit(ReportOut(report=candidate_view(report)), to_observers=False, same_as=hr)
                case InterviewClosed(reason):
                    self.finished = True
                    await self.store.set_status(self.interview_id, InterviewStatus.COMPLETED, reason=reason)
                    await self.emit(ClosedOut(reason=reason))
                    self._ended()

    def add_end_listener(self, listener: Callable[[LiveInterview], None]) -> None:
        """Call `listener(self)` once, when the interview ends (completed or abandoned)."""
        self._end_listeners.append(listener)

    def _ended(self) -> None:
        for listener in self._end_listeners:
            listener(self)

    def restore(self, last_question: QuestionOut | None, seq: int) -> None:
        """Continue a session rebuilt from stored turns (after a restart): it has started, its stream goes on at `seq`."""
        self.started = True
        self.last_question = last_question
        self._seq = max(self._seq, seq)

    async def finish(self, reason: str) -> None:
        """Score and close a session whose last answer was stored but whose close was not (the process died)."""
        async with self._lock:
            if not self.finished:
                await self._apply(await self.interviewer.close(reason))

    async def shutdown(self) -> None:
        if self._grace is not None:
            self._grace.cancel()
        # Judging in the background would hold the process past its stop; a restarted node re-judges the stored turns.
        self.interviewer.stop()
