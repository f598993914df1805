"""The interviewer: events in the order storage needs, model wording used only when valid, rephrasings drafted early."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any, TypeVar

import pytest

import models
from dialogue.answer_signals import SignalReader
from dialogue.interviewer import (
    InterviewClosed,
    Interviewer,
    InterviewerModels,
    QuestionAsked,
    ReportReady,
    TurnRecorded,
    TurnUpdated,
)
from dialogue.judging import SessionJudging
from dialogue.llm import LlamaCppBackend
from dialogue.llm.token_logprobs import Piece, PieceKind, TokenScores
from dialogue.plan import QuestionSpec, Requisition, build_plan
from dialogue.scoring import AnswerJudge
from dialogue.session import AnswerFinished, AnswerRevised, QuestionKind, RephraseAsked, Turn
from dialogue.wording import WordingConfig, valid_rephrase

QUESTION = "How do you make sure your services stay reliable in production?"
PLAN = build_plan(Requisition("Backend Engineer", "", ("microservices",), "en", questions=(QuestionSpec(QUESTION),)))


# Drafts here always get to finish, so what the model wrote is what the test sees, however loaded the machine.
NO_TIMEOUT = WordingConfig(timeout_s=120)
T = TypeVar("T")


@pytest.fixture(scope="module")
async def smollm() -> AsyncIterator[LlamaCppBackend]:
    backend = LlamaCppBackend(models.resolve("smollm2-135m-instruct"))
    yield backend
    await backend.aclose()


def without_waiting(step: Coroutine[Any, Any, T]) -> T:
    """Run `step` to its end in one go; fail if it had to wait on anything (a model call, a pending draft)."""
    try:
        step.send(None)
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]
    step.close()
    raise AssertionError("it waited: the drafted wording was not ready to use at once")


async def test_a_turn_is_recorded_before_the_next_question_and_the_report_before_closing() -> None:
    interviewer = Interviewer(PLAN, InterviewerModels())
    [first] = interviewer.start()
    assert isinstance(first, QuestionAsked) and first.question.text == QUESTION
    answer = (
        "I start with clear service level objectives, then add health checks, structured logs and metrics in "
        "Prometheus. Every change goes through automated tests and a canary release."
    )
    events = await interviewer.handle(AnswerFinished(answer))
    assert [type(e) for e in events] == [TurnRecorded, QuestionAsked]
    assert events[1].question.kind is QuestionKind.CLOSING  # type: ignore[union-attr]
    events = await interviewer.handle(AnswerFinished("No, thank you."))
    assert [type(e) for e in events] == [TurnRecorded, ReportReady, InterviewClosed]


async def test_a_rephrasing_drafted_while_the_candidate_answers_is_used_at_once(smollm: LlamaCppBackend) -> None:
    interviewer = Interviewer(PLAN, InterviewerModels(wording=smollm, wording_config=NO_TIMEOUT))
    interviewer.start()
    draft = interviewer._rephrasings[QUESTION]
    await asyncio.wait_for(asyncio.shield(draft), timeout=60)
    [event] = without_waiting(interviewer.handle(RephraseAsked()))
    assert isinstance(event, QuestionAsked) and event.question.kind is QuestionKind.REPHRASE
    # Greedy SmolLM2 rewords this question validly ("How do you ensure ..."): the draft's text is what is asked.
    assert event.worded_by_model and event.question.text == draft.result().text != QUESTION
    assert valid_rephrase(event.question.text, "en", QUESTION)
    await interviewer.close("test")


async def test_spoken_requests_to_rephrase_again_and_again_reuse_the_one_drafted_wording(
    smollm: LlamaCppBackend,
) -> None:
    """A flood of spoken "could you rephrase that?" costs the model nothing more than the first: each is answered
    at once from the question's one draft (each request is also real speech, bounded by the audio rate limit)."""
    interviewer = Interviewer(PLAN, InterviewerModels(wording=smollm, wording_config=NO_TIMEOUT))
    interviewer.start()
    draft = interviewer._rephrasings[QUESTION]
    await asyncio.wait_for(asyncio.shield(draft), timeout=60)
    asked = [
        without_waiting(interviewer.handle(AnswerFinished("Sorry, could you rephrase the question?")))
        for _ in range(12)
    ]
    assert all(isinstance(e, QuestionAsked) and e.question.kind is QuestionKind.REPHRASE for [e] in asked)
    assert {e.question.text for [e] in asked} == {draft.result().text}, "rephrased from the first wording, not drift"
    assert list(interviewer._rephrasings) == [QUESTION], "no further draft was started"
    assert interviewer.session.turns == [], "a request is not an answer"
    await interviewer.close("test")


THIN = "I used microservices in a project. It was fine."
BEHAVIOURAL_PLAN = build_plan(
    Requisition(
        "Backend Engineer",
        "",
        ("microservices",),
        "en",
        questions=(QuestionSpec("Tell me about a microservices project you worked on."), QuestionSpec("Why us?")),
    )
)


async def behavioural_interviewer(smollm: LlamaCppBackend, follow_up_wait_s: float | None = None) -> Interviewer:
    """Started, with its first question's own rephrasing draft done, so the model is free for a follow-up draft."""
    interviewer = Interviewer(
        BEHAVIOURAL_PLAN,
        InterviewerModels(wording=smollm, wording_config=NO_TIMEOUT),
        follow_up_wait_s=follow_up_wait_s,
    )
    interviewer.start()
    await asyncio.gather(*interviewer._rephrasings.values())
    return interviewer


async def test_a_follow_up_worded_at_a_pause_is_used_when_the_turn_ends_with_those_words(
    smollm: LlamaCppBackend,
) -> None:
    interviewer = await behavioural_interviewer(smollm)
    interviewer.anticipate(THIN)
    assert interviewer._follow_up_draft is not None
    draft = interviewer._follow_up_draft[1]
    await asyncio.wait_for(asyncio.shield(draft), timeout=60)
    events = without_waiting(interviewer.handle(AnswerFinished(THIN)))
    asked = [e for e in events if isinstance(e, QuestionAsked)]
    assert asked[0].question.kind is QuestionKind.FOLLOW_UP and asked[0].worded_by_model
    assert asked[0].question.text == draft.result().text
    await interviewer.close("test")


async def test_a_spoken_answers_follow_up_is_the_template_at_once_when_nothing_was_drafted(
    smollm: LlamaCppBackend,
) -> None:
    interviewer = await behavioural_interviewer(smollm, follow_up_wait_s=0.3)
    events = without_waiting(interviewer.handle(AnswerFinished(THIN)))  # no pause came: nothing was drafted
    asked = [e for e in events if isinstance(e, QuestionAsked)]
    assert asked[0].question.kind is QuestionKind.FOLLOW_UP and not asked[0].worded_by_model
    await interviewer.close("test")


async def test_a_spoken_answers_follow_up_waits_for_its_unfinished_draft_no_longer_than_its_budget(
    smollm: LlamaCppBackend,
) -> None:
    interviewer = await behavioural_interviewer(smollm, follow_up_wait_s=0.0)
    interviewer.anticipate(THIN)
    assert interviewer._follow_up_draft is not None
    draft = interviewer._follow_up_draft[1]
    events = await asyncio.wait_for(interviewer.handle(AnswerFinished(THIN)), timeout=5)
    asked = [e for e in events if isinstance(e, QuestionAsked)]
    assert asked[0].question.kind is QuestionKind.FOLLOW_UP and not asked[0].worded_by_model
    await asyncio.wait([draft], timeout=60)
    assert draft.cancelled(), "the late draft is dropped, not left to hold the model"
    await interviewer.close("test")


async def test_a_spoken_answers_follow_up_uses_its_draft_when_ready_within_the_budget(
    smollm: LlamaCppBackend,
) -> None:
    interviewer = await behavioural_interviewer(smollm, follow_up_wait_s=0.3)
    interviewer.anticipate(THIN)
    assert interviewer._follow_up_draft is not None
    draft = interviewer._follow_up_draft[1]
    await asyncio.wait_for(asyncio.shield(draft), timeout=60)
    events = await interviewer.handle(AnswerFinished(THIN))
    asked = [e for e in events if isinstance(e, QuestionAsked)]
    assert asked[0].worded_by_model and asked[0].question.text == draft.result().text
    await interviewer.close("test")


async def test_a_draft_for_words_the_candidate_went_on_from_is_dropped(smollm: LlamaCppBackend) -> None:
    interviewer = Interviewer(BEHAVIOURAL_PLAN, InterviewerModels(wording=smollm))
    interviewer.start()
    await asyncio.gather(*interviewer._rephrasings.values())  # the question's own draft frees the model first
    interviewer.anticipate(THIN)
    assert interviewer._follow_up_draft is not None
    first = interviewer._follow_up_draft[1]
    full = (
        THIN + " At my last company I led four engineers who split our payment monolith into services; as a "
        "result we cut deployment time from two hours to ten minutes without any data loss during the move."
    )
    interviewer.anticipate(full)
    await asyncio.wait([first], timeout=60)
    assert first.cancelled(), "dropped, not left to finish"
    assert interviewer._follow_up_draft is None, "a complete answer needs no follow-up, so nothing is drafted"
    events = await interviewer.handle(AnswerFinished(full))
    assert [e.question.kind for e in events if isinstance(e, QuestionAsked)] == [QuestionKind.MAIN]
    await interviewer.close("test")


def test_would_follow_up_changes_nothing() -> None:
    interviewer = Interviewer(BEHAVIOURAL_PLAN, InterviewerModels())
    interviewer.start()
    session = interviewer.session
    action = session.would_follow_up(THIN)
    assert action is not None and action.question.question_id == "q1.f1"
    assert session.turns == [] and session.current is not None and session.current.kind is QuestionKind.MAIN
    assert session.would_follow_up("Could you repeat the question?") is None


async def test_drafts_wait_their_turn_instead_of_piling_up(smollm: LlamaCppBackend) -> None:
    shared = InterviewerModels(wording=smollm)
    first, second = Interviewer(PLAN, shared), Interviewer(PLAN, shared)
    first.start()
    second.start()  # the first session's draft holds the model: the second drafts nothing
    assert QUESTION in first._rephrasings and not second._rephrasings
    [event] = await second.handle(RephraseAsked())
    assert isinstance(event, QuestionAsked) and event.question.kind is QuestionKind.REPHRASE
    await first.close("test")
    await second.close("test")


class ReadsRecorded:
    """A `TokenScorer` that records which answers were read and grades every one 5: the interviewer's scheduling
    of judgements is what is under test here, not the scores (tests/dialogue/test_dialogue_scoring.py reads real
    answers with the real model)."""

    name = "reads-recorded"
    model_sha256 = None

    def __init__(self, seconds: float = 0.0) -> None:
        self.answers: list[str] = []
        self.seconds = seconds  # how long each read takes

    async def score(self, pieces: Sequence[Piece], *, next_tokens: Sequence[str] = ()) -> TokenScores:
        measured = [p.text for p in pieces if p.kind is PieceKind.MEASURED]
        await asyncio.sleep(self.seconds)
        if next_tokens:  # the grading read of an answer (rival questions' reads ask for no next token)
            self.answers += measured
        grades = tuple((t, 0.0 if t == "5" else -20.0) for t in next_tokens)
        return TokenScores(tuple((-3.0,) * 12 for _ in measured), grades, 1, 0.0)

    async def aclose(self) -> None:
        return None


async def test_an_answer_that_gets_a_follow_up_is_judged_once_with_it_not_before() -> None:
    scorer = ReadsRecorded()
    plan = build_plan(Requisition("Backend Engineer", "", ("microservices",), "en"))
    interviewer = Interviewer(plan, InterviewerModels(answers=AnswerJudge(SignalReader(scorer))))
    interviewer.start()
    thin = "I used microservices in a project. It was fine, we fixed the problems."
    [_, follow_up] = await interviewer.handle(AnswerFinished(thin))
    assert isinstance(follow_up, QuestionAsked) and follow_up.question.kind is QuestionKind.FOLLOW_UP
    await asyncio.sleep(0.05)
    assert scorer.answers == [], "an answer about to be followed up was judged on its own"
    more = "The result was that our error rate dropped by half, and the team kept that process afterwards."
    await interviewer.handle(AnswerFinished(more))
    await asyncio.sleep(0.05)
    assert scorer.answers == [f"{thin} {more}"], "the main question is judged once, on both answers, in the background"


async def test_a_spoken_answer_whose_revision_follows_is_judged_once_on_the_revised_words() -> None:
    scorer = ReadsRecorded()
    plan = build_plan(Requisition("Backend Engineer", "", ("microservices",), "en"))
    interviewer = Interviewer(plan, InterviewerModels(answers=AnswerJudge(SignalReader(scorer))))
    interviewer.start()
    told = "The challenge was consistency, so I added sagas; as a result deploys fell from two hours to ten minutes."
    heard = f"At my last company I led four engineers that split our monolith into spring boot micro services. {told}"
    revised = f"At my last company I led four engineers that split our monolith into Spring Boot services. {told}"
    [recorded, asked] = await interviewer.handle(AnswerFinished(heard, 0.2, 9.8, revision_follows=True))
    assert isinstance(recorded, TurnRecorded) and isinstance(asked, QuestionAsked)
    assert asked.question.kind is not QuestionKind.FOLLOW_UP, "no follow-up: the answer is judged on its own"
    await asyncio.sleep(0.05)
    assert scorer.answers == [], "the live words were judged although their revision was on its way"

    [updated] = await interviewer.handle(AnswerRevised(revised, 0.2, 9.8))

    assert isinstance(updated, TurnUpdated) and (updated.turn.answer, updated.turn.heard) == (revised, heard)
    await asyncio.sleep(0.05)
    assert scorer.answers == [revised]
    report = await interviewer.score()
    assert scorer.answers == [revised], "the report reuses the judgement of the revised words"
    assert report.dimensions


async def test_a_revision_with_the_same_words_starts_the_judgement_and_stores_nothing() -> None:
    scorer = ReadsRecorded()
    plan = build_plan(Requisition("Backend Engineer", "", ("microservices",), "en"))
    interviewer = Interviewer(plan, InterviewerModels(answers=AnswerJudge(SignalReader(scorer))))
    interviewer.start()
    said = (
        "At my last company I led four engineers that split our payment monolith into Spring Boot microservices. "
        "The biggest challenge was consistency, so I introduced sagas; as a result deployments fell from two hours "
        "to ten minutes."
    )
    await interviewer.handle(AnswerFinished(said, 0.2, 9.8, revision_follows=True))
    assert await interviewer.handle(AnswerRevised(said, 0.2, 9.8)) == []
    await asyncio.sleep(0.05)
    assert scorer.answers == [said] and interviewer.session.turns[0].heard is None


async def test_a_closing_session_is_judged_before_other_sessions_background_judging() -> None:
    scorer = ReadsRecorded(seconds=0.01)
    judge = AnswerJudge(SignalReader(scorer))
    questions = tuple(QuestionSpec(f"Tell me about a time you handled incident number {n}.") for n in (1, 2, 3))
    plan = build_plan(Requisition("Backend Engineer", "", ("microservices",), "en", questions=questions))
    busy, closing = SessionJudging(plan, judge), SessionJudging(plan, judge)

    def told(session: str, n: int) -> Turn:
        q = plan.questions[n]
        said = f"Session {session} answer {n}: the payments queue backed up, I added a dead-letter queue and alerts."
        return Turn(n + 1, q.id, q.id, QuestionKind.MAIN, q.text, said, None, None)

    busy_turns = [told("busy", n) for n in range(3)]
    for n in range(1, 4):
        busy.turn_ended(busy_turns[:n])
    closing_turns = [told("closing", 0)]
    closing.turn_ended(closing_turns)
    await asyncio.sleep(0)
    [scored] = await closing.answers(closing_turns)
    assert scored.score is not None
    # The busy session's first judgement was already being read; the closing one's came right after it.
    assert [a.split(":")[0] for a in scorer.answers] == ["Session busy answer 0", "Session closing answer 0"]
    await busy.answers(busy_turns)
    assert len(scorer.answers) == 4
