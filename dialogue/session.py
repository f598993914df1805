"""The interview session state machine: typed candidate events in, typed interviewer actions out.

Pure and synchronous: it decides *what* happens next by rules; dialogue.interviewer words it and scores.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace

from dialogue.follow_up import FollowUpPolicy, FollowUpReason
from dialogue.intents import Intent, detect_intent
from dialogue.phrases import phrases
from dialogue.plan import InterviewPlan

log = logging.getLogger(__name__)


class QuestionKind(enum.Enum):
    MAIN = "main"
    FOLLOW_UP = "follow_up"
    REPHRASE = "rephrase"
    REPEAT = "repeat"
    CLOSING = "closing"


class Phase(enum.Enum):
    NOT_STARTED = "not_started"
    ANSWERING = "answering"
    CLOSING = "closing"
    FINISHED = "finished"


# --- events in -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnswerFinished:
    """The candidate's answer to the current question is complete (spoken turn or typed). `revision_follows`: an
    `AnswerRevised` for it is on its way (its judgement may wait for those words)."""

    text: str
    start: float | None = None
    end: float | None = None
    revision_follows: bool = False


@dataclass(frozen=True, slots=True)
class AnswerRevised:
    """The spoken answer that ended over [`start`, `end`] was transcribed again from its whole audio: `text` is
    what is kept and scored (it may be the words already stored). The rules' decisions stay with the words heard
    live (a replay must reach them again)."""

    text: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class RephraseAsked:
    pass


@dataclass(frozen=True, slots=True)
class RepeatAsked:
    pass


@dataclass(frozen=True, slots=True)
class CandidateEnded:
    pass


SessionEvent = AnswerFinished | AnswerRevised | RephraseAsked | RepeatAsked | CandidateEnded


# --- actions out -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Question:
    question_id: str
    text: str
    kind: QuestionKind
    index: int
    total: int


@dataclass(frozen=True, slots=True)
class Ask:
    """Say this question; its text is final."""

    question: Question


@dataclass(frozen=True, slots=True)
class AskFollowUp:
    """Ask a follow-up for `reason`; `question.text` is the template, which a model may reword."""

    question: Question
    reason: FollowUpReason
    about: str
    answer: str


@dataclass(frozen=True, slots=True)
class AskRephrased:
    """Ask the current question in other words; `question.text` is the template fallback."""

    question: Question
    original: str


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str


@dataclass(frozen=True, slots=True)
class Ignore:
    """Nothing to do (e.g. an empty answer); `why` is for the log."""

    why: str


@dataclass(frozen=True, slots=True)
class Revised:
    """A stored turn's revision came (`changed`: it replaced the answer); nothing is asked."""

    turn: Turn
    changed: bool


SessionAction = Ask | AskFollowUp | AskRephrased | Finish | Ignore | Revised


@dataclass(frozen=True, slots=True)
class Turn:
    """One answered question: what was asked, what the candidate said, when (audio seconds, if spoken)."""

    seq: int
    question_id: str
    main_question_id: str
    question_kind: QuestionKind
    question_text: str
    answer: str  # what is kept and scored: the revised transcript once there is one
    start: float | None
    end: float | None
    heard: str | None = None  # the live transcript the rules decided on, where a revision replaced it

    @property
    def decided_on(self) -> str:
        """The words the interview's rules saw when this turn ended."""
        return self.answer if self.heard is None else self.heard


class SessionFinished(RuntimeError):
    """An event arrived after the interview ended."""


@dataclass(frozen=True, slots=True)
class Replayed:
    """Where a session rebuilt from its stored turns stands: the question waiting for an answer, or, when the
    stored answers had already brought it to its end, the reason it finished."""

    question: Question | None
    finished: str | None


class InterviewSession:
    def __init__(self, plan: InterviewPlan, policy: FollowUpPolicy | None = None) -> None:
        self.plan = plan
        self.policy = policy or FollowUpPolicy()
        self.phase = Phase.NOT_STARTED
        self.turns: list[Turn] = []
        self.current: Question | None = None
        self._original = ""
        self._original_kind = QuestionKind.MAIN
        self._main_index = 0
        self._follow_ups = 0
        self._phrases = phrases(plan.language)

    @property
    def total(self) -> int:
        return len(self.plan.questions)

    @property
    def main_question(self) -> Question:
        q = self.plan.questions[self._main_index]
        return Question(q.id, q.text, QuestionKind.MAIN, self._main_index + 1, self.total)

    def start(self) -> Ask:
        if self.phase is not Phase.NOT_STARTED:
            raise RuntimeError("the session has already started")
        self.phase = Phase.ANSWERING
        return self._ask(self.main_question)

    def asked(self, question: Question) -> None:
        """Record the text actually said (a model's wording), so that `repeat` repeats it word for word."""
        self.current = question
        if question.kind in (QuestionKind.MAIN, QuestionKind.FOLLOW_UP, QuestionKind.CLOSING):
            self._original = question.text
            self._original_kind = question.kind

    def replay(self, turns: list[Turn]) -> Replayed:
        """Drive a fresh session through stored answers (its rules are deterministic given them), to go on where the
        session that stored them stopped (on another node, or before a restart).

        Each question is set to the words stored with its turn (a model may have worded it), and the stored turns
        replace the replayed ones, so their `seq` go on from the last stored one.
        """
        action: SessionAction = self.start()
        for turn in turns:
            current = self.current
            if current is None:
                log.warning("replay: turn %d came after the session had finished; ignored", turn.seq)
                break
            if current.question_id != turn.question_id:
                log.warning(
                    "replay: turn %d answered %s, the rules now ask %s", turn.seq, turn.question_id, current.question_id
                )
            self.asked(replace(current, text=turn.question_text, kind=turn.question_kind))
            action = self.handle(AnswerFinished(turn.decided_on, turn.start, turn.end))
        self.turns[:] = turns
        match action:
            case Ask(question) | AskFollowUp(question=question) | AskRephrased(question=question):
                return Replayed(question, None)
            case Finish(reason):
                return Replayed(None, reason)
        return Replayed(self.current, None)

    def handle(self, event: SessionEvent) -> SessionAction:
        if self.phase is Phase.FINISHED:
            raise SessionFinished("the interview has ended")
        if self.phase is Phase.NOT_STARTED:
            raise RuntimeError("start() the session before sending it events")
        if isinstance(event, CandidateEnded):
            return self._finish("candidate_ended")
        if isinstance(event, RepeatAsked):
            return self._repeat()
        if isinstance(event, RephraseAsked):
            return self._rephrase()
        if isinstance(event, AnswerRevised):
            return self._revise(event)
        return self._answer(event)

    def _ask(self, question: Question) -> Ask:
        self.asked(question)
        return Ask(question)

    def _finish(self, reason: str) -> Finish:
        self.phase = Phase.FINISHED
        self.current = None
        return Finish(reason)

    def _repeat(self) -> Ask:
        assert self.current is not None
        return self._ask(replace(self.current, kind=QuestionKind.REPEAT))

    def _rephrase(self) -> AskRephrased | Ask:
        assert self.current is not None
        if self.phase is Phase.CLOSING:
            return self._repeat()
        # Rephrase the question as first worded: rephrasing a rephrasing drifts further each time.
        original = self._original
        fallback = self._phrases.rephrase_wrapper.format(core=original)
        question = replace(self.current, text=fallback, kind=QuestionKind.REPHRASE)
        self.current = question
        return AskRephrased(question, original)

    def _answer(self, event: AnswerFinished) -> SessionAction:
        text = event.text.strip()
        if not text:
            return Ignore("empty answer")
        intent = detect_intent(text, self.plan.language)
        if intent is Intent.REPEAT:
            return self._repeat()
        if intent is Intent.REPHRASE:
            return self._rephrase()
        assert self.current is not None
        main = self.main_question
        self.turns.append(
            Turn(
                seq=len(self.turns) + 1,
                question_id=self.current.question_id,
                main_question_id=main.question_id if self.phase is Phase.ANSWERING else "closing",
                # Asked again or reworded, it is still the main question or follow-up it was.
                question_kind=self._original_kind,
                question_text=self.current.text,
                answer=text,
                start=event.start,
                end=event.end,
            )
        )
        if self.phase is Phase.CLOSING:
            return self._finish("completed")
        follow_up = self._follow_up_for(self._answer_so_far(main, ""))
        if follow_up is not None:
            self._follow_ups += 1
            self.asked(follow_up.question)
            return follow_up
        return self._next_main()

    def _revise(self, event: AnswerRevised) -> Revised | Ignore:
        text = event.text.strip()
        for i, turn in enumerate(self.turns):
            if turn.start == event.start and turn.end == event.end and turn.start is not None:
                if not text or text == turn.answer:
                    return Revised(turn, changed=False)
                self.turns[i] = replace(turn, answer=text, heard=turn.decided_on)
                return Revised(self.turns[i], changed=True)
        return Ignore("no stored answer was heard over that span (a request, or an answer cut short)")

    def _answer_so_far(self, main: Question, more: str) -> str:
        said = [t.decided_on for t in self.turns if t.main_question_id == main.question_id]
        return " ".join([*said, more] if more else said)

    def _follow_up_for(self, answer: str) -> AskFollowUp | None:
        main = self.main_question
        reason = self.policy.reason(main.text, answer, self.plan.language, self._follow_ups)
        if reason is None:
            return None
        question = Question(
            f"{main.question_id}.f{self._follow_ups + 1}",
            self._phrases.follow_up[reason.value],
            QuestionKind.FOLLOW_UP,
            main.index,
            main.total,
        )
        return AskFollowUp(question, reason, about=main.text, answer=answer)

    def would_follow_up(self, partial_answer: str) -> AskFollowUp | None:
        """The follow-up this answer would get if the candidate stopped here; changes nothing.

        Lets the interviewer word it while the candidate may still go on (the turn is not over yet).
        """
        text = partial_answer.strip()
        if self.phase is not Phase.ANSWERING or not text or detect_intent(text, self.plan.language) is not None:
            return None
        return self._follow_up_for(self._answer_so_far(self.main_question, text))

    def _next_main(self) -> Ask:
        self._follow_ups = 0
        if self._main_index + 1 < self.total:
            self._main_index += 1
            return self._ask(self.main_question)
        self.phase = Phase.CLOSING
        return self._ask(Question("closing", self._phrases.closing, QuestionKind.CLOSING, self.total, self.total))
