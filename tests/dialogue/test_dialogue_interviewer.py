"""The interviewer: events in the order storage needs, model wording used only when valid, rephrasings drafted early."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

import models
from dialogue.interviewer import (
    InterviewClosed,
    Interviewer,
    InterviewerModels,
    QuestionAsked,
    ReportReady,
    TurnRecorded,
)
from dialogue.llm import LlamaCppBackend
from dialogue.plan import QuestionSpec, Requisition, build_plan
from dialogue.session import AnswerFinished, QuestionKind, RephraseAsked
from dialogue.wording import valid_rephrase

QUESTION = "How do you make sure your services stay reliable in production?"
PLAN = build_plan(
    Requisition("Backend Engineer", "", ("microservices",), "en", questions=(QuestionSpec(QUESTION),))
)


@pytest.fixture(scope="module")
async def smollm() -> AsyncIterator[LlamaCppBackend]:
    backend = LlamaCppBackend(models.resolve("smollm2-135m-instruct"))
    yield backend
    await backend.aclose()


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
    interviewer = Interviewer(PLAN, InterviewerModels(wording=smollm))
    interviewer.start()
    draft = interviewer._rephrasings[QUESTION]
    await asyncio.wait_for(asyncio.shield(draft), timeout=60)
    started = time.perf_counter()
    [event] = await interviewer.handle(RephraseAsked())
    assert time.perf_counter() - started < 0.05, "the drafted rewording is ready: no model call at request time"
    assert isinstance(event, QuestionAsked) and event.question.kind is QuestionKind.REPHRASE
    if event.worded_by_model:
        assert valid_rephrase(event.question.text, "en", QUESTION)
    else:
        assert QUESTION in event.question.text
    await interviewer.close("test")
