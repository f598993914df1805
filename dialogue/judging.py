"""Judges each answer when its turn ends, in the background, so the report is ready soon after the last answer.

`SessionJudging` starts a judgement of a main question's answer (its turns so far, follow-ups included) when a
turn ends and never waits for it: the candidate's next question goes out at once. The interviewer does not ask
for one when a follow-up is coming: that judgement would only be superseded by the one after the follow-up. The scoring model runs on its
own low-priority worker (`LlamaCppTokenScorer`), so it takes the CPU only when speech recognition and question
wording leave it free. At the end, `answers()` collects what is done and judges whatever is not, and the session's
reads still queued go ahead of other sessions' background judging (`read_queue.Urgency`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from dialogue.plan import InterviewPlan
from dialogue.read_queue import Urgency
from dialogue.report import AnswerScore
from dialogue.scoring import AnswerJudge, answered_ids
from dialogue.session import Turn

log = logging.getLogger(__name__)


class SessionJudging:
    def __init__(self, plan: InterviewPlan, judge: AnswerJudge) -> None:
        self.plan = plan
        self.judge = judge
        self.urgency = Urgency()
        # Per main question: the turns judged and the judgement under way.
        self._pending: dict[str, tuple[tuple[Turn, ...], asyncio.Task[AnswerScore]]] = {}
        # Main questions whose judgement waits for the revised words of their last answer.
        self._awaiting: set[str] = set()

    def turn_ended(self, turns: Sequence[Turn], *, awaiting_revision: bool = False) -> None:
        """Start judging the main question the last turn belongs to (superseding an earlier judgement of it), or,
        with `awaiting_revision`, once that turn's revised words come (`revised`)."""
        if not turns:
            return
        question_id = turns[-1].main_question_id
        if awaiting_revision:
            # Judging the live words now would spend the scorer on a reading about to be superseded.
            earlier = self._pending.pop(question_id, None)
            if earlier is not None:
                earlier[1].cancel()
            self._awaiting.add(question_id)
            return
        self._start(question_id, turns)

    def revised(self, turns: Sequence[Turn], question_id: str) -> None:
        """An answer to `question_id` came back revised: the judgement waiting for it starts, one already under way
        starts again on the new words (one not due yet, because a follow-up is coming, will read them anyway)."""
        if question_id in self._awaiting or question_id in self._pending:
            self._start(question_id, turns)

    def _start(self, question_id: str, turns: Sequence[Turn]) -> None:
        self._awaiting.discard(question_id)
        if self.judge.reader is None or question_id not in {q.id for q in self.plan.questions}:
            return  # no scoring model, or the closing answer, which is not scored
        own = tuple(t for t in turns if t.main_question_id == question_id)
        earlier = self._pending.get(question_id)
        if earlier is not None:
            earlier[1].cancel()  # its words are no longer the whole answer
        task = asyncio.ensure_future(self.judge.judge(self.plan, question_id, own, self.urgency))
        task.add_done_callback(_log_failure)
        self._pending[question_id] = (own, task)

    async def answers(self, turns: Sequence[Turn]) -> list[AnswerScore]:
        """Every answered main question's judgement, reusing background ones whose turns are still the whole answer."""
        self.urgency.waiting = True  # this session's queued reads now go before other sessions' background ones
        out = []
        for question_id in answered_ids(self.plan, turns):
            own = tuple(t for t in turns if t.main_question_id == question_id)
            pending = self._pending.get(question_id)
            if pending is not None and pending[0] == own and not pending[1].cancelled():
                out.append(await pending[1])
            else:
                out.append(await self.judge.judge(self.plan, question_id, own, self.urgency))
        return out

    def cancel(self) -> None:
        for _, task in self._pending.values():
            task.cancel()


def _log_failure(task: asyncio.Task[AnswerScore]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("judging an answer failed", exc_info=task.exception())
