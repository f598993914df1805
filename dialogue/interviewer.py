"""The interviewer: drives an InterviewSession, has the model word what the rules decided, scores at the end.

Async at the edge (model calls); emits typed events the server turns into protocol messages and storage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

from dialogue.follow_up import FollowUpPolicy
from dialogue.judging import SessionJudging
from dialogue.llm.base import LLMBackend
from dialogue.plan import InterviewPlan
from dialogue.report import Report
from dialogue.scoring import AnswerJudge, build_report, scorer_info
from dialogue.session import (
    AnswerFinished,
    Ask,
    AskFollowUp,
    AskRephrased,
    Finish,
    Ignore,
    InterviewSession,
    Question,
    QuestionKind,
    Revised,
    SessionEvent,
    Turn,
)
from dialogue.wording import Worded, WordingConfig, word_follow_up, word_rephrase

_GAPS = {
    "en": {
        "too_short": "a specific example with details",
        "missing_situation": "the situation and the candidate's task",
        "missing_action": "what the candidate personally did",
        "missing_result": "the result and how it was measured",
    },
    "zh": {
        "too_short": "一个具体的例子和细节",
        "missing_situation": "当时的背景和候选人的任务",
        "missing_action": "候选人本人具体做了什么",
        "missing_result": "最终结果以及如何衡量",
    },
}


@dataclass(frozen=True, slots=True)
class QuestionAsked:
    question: Question
    worded_by_model: bool = False


@dataclass(frozen=True, slots=True)
class TurnRecorded:
    turn: Turn


@dataclass(frozen=True, slots=True)
class TurnUpdated:
    """A recorded turn's answer was replaced by its revised transcript (`turn.heard` keeps the live one)."""

    turn: Turn


@dataclass(frozen=True, slots=True)
class ReportReady:
    report: Report


@dataclass(frozen=True, slots=True)
class InterviewClosed:
    reason: str


InterviewerEvent = QuestionAsked | TurnRecorded | TurnUpdated | ReportReady | InterviewClosed


@dataclass(slots=True)
class DraftSlot:
    """Room for one speculative model call; taken synchronously, so two sessions cannot both take it."""

    busy: bool = False

    def start(self, work: Coroutine[Any, Any, Worded]) -> asyncio.Future[Worded] | None:
        if self.busy:
            work.close()
            return None
        self.busy = True
        task = asyncio.ensure_future(work)
        task.add_done_callback(self._free)
        return task

    def _free(self, _task: asyncio.Future[Worded]) -> None:
        self.busy = False


@dataclass(frozen=True, slots=True)
class InterviewerModels:
    """Which model words questions and which scores answers; None means templates, and no scores (HR reviews)."""

    wording: LLMBackend | None = None
    judge: LLMBackend | None = None  # a configured model's own 0-10 per dimension, reported beside the score
    answers: AnswerJudge = field(default_factory=lambda: AnswerJudge(None))
    wording_config: WordingConfig = field(default_factory=WordingConfig)
    # Shared by every session of a process: drafts (work that may never be used) run one at a time and only
    # when no other draft holds the model, so under load the CPU goes to what candidates are waiting for.
    drafting: DraftSlot = field(default_factory=lambda: DraftSlot())


class Interviewer:
    def __init__(
        self,
        plan: InterviewPlan,
        models: InterviewerModels,
        policy: FollowUpPolicy | None = None,
        *,
        follow_up_wait_s: float | None = None,
    ) -> None:
        """`follow_up_wait_s`: how long, once an answer has ended, its follow-up may wait for the model's wording
        drafted at the candidate's pauses before the template is said instead (nothing drafted: the template at
        once); None lets the wording take its own timeout, as for typed answers, where no pause drafts anything."""
        self.plan = plan
        self.models = models
        self.follow_up_wait_s = follow_up_wait_s
        self.session = InterviewSession(plan, policy)
        # Each question's rewording, drafted while the candidate is still answering it, so that "could you
        # rephrase that?" is answered without waiting on the model.
        self._rephrasings: dict[str, asyncio.Future[Worded]] = {}
        # The follow-up an answer would get, worded at the candidate's last pause, keyed by that answer.
        self._follow_up_draft: tuple[str, asyncio.Future[Worded]] | None = None
        self._judging = SessionJudging(plan, models.answers)

    def start(self) -> list[InterviewerEvent]:
        return self._asked(self.session.start().question)

    def _asked(self, question: Question, by_model: bool = False) -> list[InterviewerEvent]:
        wants_draft = question.kind in (QuestionKind.MAIN, QuestionKind.FOLLOW_UP)
        if wants_draft and self.models.wording is not None and question.text not in self._rephrasings:
            draft = self.models.drafting.start(
                word_rephrase(
                    self.models.wording,
                    self.plan.language,
                    original=question.text,
                    template="",
                    config=self.models.wording_config,
                )
            )
            if draft is not None:
                self._rephrasings[question.text] = draft
        return [QuestionAsked(question, by_model)]

    async def handle(self, event: SessionEvent) -> list[InterviewerEvent]:
        before = len(self.session.turns)
        action = self.session.handle(event)
        if isinstance(action, Revised):
            # Nothing is asked, and the drafts for the answer under way stay: they are about other words.
            self._judging.revised(self.session.turns, action.turn.main_question_id)
            return [TurnUpdated(action.turn)] if action.changed else []
        out: list[InterviewerEvent] = [TurnRecorded(t) for t in self.session.turns[before:]]
        # An answer about to get a follow-up is judged with it, once the follow-up's answer is in: judging it now
        # would only be superseded, and the scorer's time is what the report waits on.
        if len(self.session.turns) > before and not isinstance(action, AskFollowUp):
            revision_follows = isinstance(event, AnswerFinished) and event.revision_follows
            self._judging.turn_ended(self.session.turns, awaiting_revision=revision_follows)
        match action:
            case Ask(question):
                out += self._asked(question)
            case AskFollowUp():
                out += await self._follow_up(action)
            case AskRephrased():
                out.append(await self._rephrase(action))
            case Finish(reason):
                out += await self.close(reason)
            case Ignore():
                pass
        if not isinstance(action, AskFollowUp) and self._follow_up_draft is not None:
            self._follow_up_draft[1].cancel()  # its answer was not the one that ended the turn
            self._follow_up_draft = None
        return out

    def anticipate(self, answer_so_far: str) -> None:
        """The candidate paused mid-turn: if the answer as it stands needs a follow-up, start wording it now.

        A draft for other words (the candidate went on) is dropped; the rules still decide at the turn's end.
        """
        if self.models.wording is None:
            return
        action = self.session.would_follow_up(answer_so_far)
        key = _same_words(action.answer) if action else ""
        if self._follow_up_draft is not None and self._follow_up_draft[0] != key:
            self._follow_up_draft[1].cancel()
            self._follow_up_draft = None
        if action is not None and self._follow_up_draft is None:
            draft = self.models.drafting.start(self._word_follow_up(action))
            if draft is not None:
                self._follow_up_draft = (key, draft)

    async def close(self, reason: str) -> list[InterviewerEvent]:
        self._drop_drafts()
        report = await self.score()
        return [ReportReady(report), InterviewClosed(reason)]

    def stop(self) -> None:
        """The session ends without a report (abandoned, or the server is stopping): drop the work under way."""
        self._drop_drafts()
        self._judging.cancel()

    def _drop_drafts(self) -> None:
        for draft in self._rephrasings.values():
            draft.cancel()
        if self._follow_up_draft is not None:
            self._follow_up_draft[1].cancel()

    async def score(self) -> Report:
        """The report, from the answers judged in the background as their turns ended (and any not yet judged)."""
        answers = await self._judging.answers(self.session.turns)
        return await build_report(
            self.plan,
            self.session.turns,
            answers,
            scorer=scorer_info(self.models.answers, self.models.judge),
            judge=self.models.judge,
        )

    async def _follow_up(self, action: AskFollowUp) -> list[InterviewerEvent]:
        draft, self._follow_up_draft = self._follow_up_draft, None
        drafted = draft[1] if draft is not None and draft[0] == _same_words(action.answer) else None
        if draft is not None and drafted is None:
            draft[1].cancel()
        template = Worded(action.question.text, by_model=False)
        if self.follow_up_wait_s is None:
            worded = await drafted if drafted is not None else await self._word_follow_up(action)
        elif drafted is None:
            worded = template  # nothing was drafted at a pause: wording it now would keep the candidate waiting
        else:
            done, _ = await asyncio.wait({drafted}, timeout=self.follow_up_wait_s)
            if drafted in done and not drafted.cancelled() and drafted.exception() is None:
                worded = drafted.result()
            else:
                drafted.cancel()
                worded = template
        question = replace(action.question, text=worded.text)
        self.session.asked(question)
        return self._asked(question, worded.by_model)

    async def _word_follow_up(self, action: AskFollowUp) -> Worded:
        return await word_follow_up(
            self.models.wording,
            self.plan.language,
            question=action.about,
            answer=action.answer,
            gap=_GAPS[self.plan.language][action.reason.value],
            template=action.question.text,
            config=self.models.wording_config,
        )

    async def _rephrase(self, action: AskRephrased) -> QuestionAsked:
        draft = self._rephrasings.get(action.original)
        if draft is not None:
            worded = await draft
        else:
            worded = await word_rephrase(
                self.models.wording,
                self.plan.language,
                original=action.original,
                template=action.question.text,
                config=self.models.wording_config,
            )
        question = replace(action.question, text=worded.text) if worded.by_model else action.question
        self.session.asked(question)
        return QuestionAsked(question, worded.by_model)


def _same_words(text: str) -> str:
    """Answers compare equal whatever the spacing between the pieces they were joined from."""
    return "".join(text.split())
