"""A live interview in this process: its interviewer, its clock, and where each of its events goes.

Events go to the candidate's socket (if one is attached), to the interview's channel (observers on any node)
and, for turns and reports, to the database before anything that depends on them is sent. Every write carries the
fence of the interview's lease (server/db/leases.py): once another node has taken the interview over, the session
here stops without writing.
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
    TurnUpdated,
)
from dialogue.plan import InterviewPlan
from dialogue.report import candidate_view
from dialogue.session import AnswerFinished, CandidateEnded, QuestionKind, SessionEvent
from server.bus import channel_name
from server.db.leases import Fence, HeldLease, LeaseLost
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
        on_listening: Callable[[LiveInterview, bool], None] | None = None,
        lease: HeldLease | None = None,
    ) -> None:
        self.interview_id = interview_id
        self.plan = plan
        self.interviewer = interviewer
        self.store = store
        self.channels = channels
        self.grace_s = grace_s
        # None: unfenced writes (a session built by a test without the lease table's machinery).
        self.lease = lease
        self.fence: Fence | None = lease.fence if lease is not None else None
        self.fenced_off_at: float | None = None  # time.monotonic() when another node took the interview over
        self._end_listeners: list[Callable[[LiveInterview], None]] = [on_end]
        # Told False while the candidate has nothing more to say and the report is being built, True if the session
        # goes on after all: the node's speech recognition has one session fewer to serve meanwhile.
        self._on_listening = on_listening
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
        if self.fenced_off_at is not None:
            return  # the node running the interview now numbers its events; this one's would collide
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
        self.interviewer.stop()
        try:
            await self.store.set_status(
                self.interview_id, InterviewStatus.ABANDONED, reason="candidate_left", fence=self.fence
            )
        except LeaseLost:
            # The candidate went on with another node meanwhile: the interview is that node's, not abandoned.
            await self.fenced_off()
            return
        log.info("interview %s abandoned: no reconnect within %.0f s", self.interview_id, self.grace_s)
        await self.emit(ClosedOut(reason="abandoned"), to_candidate=False)
        self._ended()

    # --- the conversation ---------------------------------------------------------------------------------

    async def begin(self) -> None:
        """Ask the first question, or, for a resumed session, the current one again."""
        async with self._lock:
            if not self.started:
                self.started = True
                try:
                    await self.store.set_status(self.interview_id, InterviewStatus.LIVE, fence=self.fence)
                    await self._apply(self.interviewer.start())
                except LeaseLost:
                    await self.fenced_off()
            elif self.last_question is not None and self._question_sent_on is not self.link:
                # Not when the old connection's last answer already brought this connection its question.
                await self.emit(self.last_question)
                self._question_sent_on = self.link

    async def submit(self, event: SessionEvent) -> None:
        async with self._lock:
            if self.finished:
                raise SessionClosed("the interview has ended")
            started = time.monotonic()
            closing = self._may_close(event)
            if closing and self._on_listening is not None:
                self._on_listening(self, False)
            try:
                events = await self.interviewer.handle(event)
            finally:
                if closing and not self.finished and self._on_listening is not None:
                    self._on_listening(self, True)
            self.decided_at = time.monotonic()
            self.decision_s = self.decided_at - started
            try:
                await self._apply(events)
            except LeaseLost:
                await self.fenced_off()

    def _may_close(self, event: SessionEvent) -> bool:
        """Whether handling `event` may build the report: the candidate ended, or answered the closing question."""
        if isinstance(event, CandidateEnded):
            return True
        asked = self.last_question
        return isinstance(event, AnswerFinished) and asked is not None and asked.kind == QuestionKind.CLOSING.value

    async def _apply(self, events: Iterable[InterviewerEvent]) -> None:
        for event in events:
            match event:
                case TurnRecorded(turn):
                    await self.store.add_turn(self.interview_id, turn, fence=self.fence)
                case TurnUpdated(turn):
                    await self.store.revise_turn(self.interview_id, turn, fence=self.fence)
                case QuestionAsked(q):
                    self.last_question = QuestionOut.of(q, self.plan.language)
                    await self.emit(self.last_question)
                    self._question_sent_on = self.link
                    self.question_sent_at = time.monotonic()
                case ReportReady(report):
                    if self.report_notes:
                        report = replace(report, notes=(*report.notes, *self.report_notes))
                    await self.store.save_report(self.interview_id, report, fence=self.fence)
                    # Two views of one event, at one place in the stream: the candidate never receives what is
                    # meant for HR, and their stream stays contiguous.
                    hr = ReportOut(report=report)
                    await self.emit(hr, to_candidate=False)
                    await self.emit(ReportOut(report=candidate_view(report)), to_observers=False, same_as=hr)
                case InterviewClosed(reason):
                    self.finished = True
                    await self.store.set_status(
                        self.interview_id, InterviewStatus.COMPLETED, reason=reason, fence=self.fence
                    )
                    await self.emit(ClosedOut(reason=reason))
                    self._ended()

    def add_end_listener(self, listener: Callable[[LiveInterview], None]) -> None:
        """Call `listener(self)` once, when the interview ends (completed or abandoned)."""
        self._end_listeners.append(listener)

    def _ended(self) -> None:
        if self.lease is not None:
            self.lease.release()
        for listener in self._end_listeners:
            listener(self)

    def restore(self, last_question: QuestionOut | None, seq: int, elapsed_s: float = 0.0) -> None:
        """Continue a session rebuilt from stored turns (after a restart or a takeover): it has started, its stream
        goes on at `seq`, and its clock at `elapsed_s` since the interview went live (so the time limit counts the
        whole interview, not the part on this node)."""
        self.started = True
        self.last_question = last_question
        self._seq = max(self._seq, seq)
        self._t0 = min(self._t0, time.monotonic() - max(0.0, elapsed_s))

    async def finish(self, reason: str) -> None:
        """Score and close a session whose last answer was stored but whose close was not (the process died)."""
        async with self._lock:
            if not self.finished:
                try:
                    await self._apply(await self.interviewer.close(reason))
                except LeaseLost:
                    await self.fenced_off()

    async def fenced_off(self) -> None:
        """Another node took the interview over (its lease has a newer fence): stop here without writing anything
        more and without calling the interview abandoned, and close the candidate's connection still attached here
        (a half-open one, typically) with a clear reason. Idempotent."""
        if self.fenced_off_at is not None:
            return
        self.fenced_off_at = time.monotonic()
        self.finished = True
        if self._grace is not None and self._grace is not asyncio.current_task():
            self._grace.cancel()
        self._grace = None
        self.interviewer.stop()
        log.info("interview %s: taken over by another node; the session here stops", self.interview_id)
        link, self.link = self.link, None
        if link is not None:
            with contextlib.suppress(Exception):
                await link.fail("session_closed", "this interview goes on over a newer connection; this one is closed")
        self._ended()

    async def shutdown(self) -> None:
        if self.lease is not None:
            await self.lease.aclose()
        if self._grace is not None:
            self._grace.cancel()
        # Judging in the background would hold the process past its stop; a restarted node re-judges the stored turns.
        self.interviewer.stop()
