"""Scoring: rules from measurable features, verbatim evidence, weighted overall, recommendation, model judge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dialogue.llm import LlamaCppBackend
from dialogue.plan import InterviewPlan, QuestionSpec, Requisition, build_plan
from dialogue.report import Recommendation, is_verbatim, recommend
from dialogue.scoring import score_session
from dialogue.session import AnswerFinished, InterviewSession, Turn


def load(fixtures_dir: Path, name: str) -> tuple[InterviewPlan, list[dict[str, Any]]]:
    manifest = json.loads((fixtures_dir / name / "manifest.json").read_text())
    job = manifest["scenario"]["job"]
    plan = build_plan(
        Requisition(
            job["title"], job["description"], tuple(job["requirements"]), job["language"],
            questions=tuple(QuestionSpec(q) for q in manifest["scenario"]["questions"]),
        )
    )
    return plan, manifest["clips"]


def interview(plan: InterviewPlan, clips: list[dict[str, Any]], quality: str) -> list[Turn]:
    def text(**want: Any) -> str:
        return next(c["text"] for c in clips if all(c.get(k) == v for k, v in want.items()))

    session = InterviewSession(plan)
    question = session.start().question
    while True:
        if question.kind.value == "closing":
            session.handle(AnswerFinished(text(role="closing_answer")))
            return session.turns
        if question.kind.value == "follow_up":
            answer = text(role="follow_up_answer")
        else:
            candidates = [c for c in clips if c.get("role") == "answer" and c.get("question") == question.index]
            answer = next((c["text"] for c in candidates if c.get("quality") == quality), candidates[0]["text"])
        action = session.handle(AnswerFinished(answer))
        question = action.question  # type: ignore[union-attr]


async def test_strong_answers_outscore_weak_ones_by_two_points(fixtures_dir: Path) -> None:
    plan, clips = load(fixtures_dir, "backend_en")
    strong = await score_session(plan, interview(plan, clips, "strong"))
    weak = await score_session(plan, interview(plan, clips, "weak"))
    assert strong.overall >= weak.overall + 2
    assert strong.recommendation is Recommendation.ADVANCE and weak.recommendation is Recommendation.REJECT
    assert strong.scored_by == "rules"
    assert weak.weaknesses and weak.suggestions and strong.strengths


async def test_overall_is_the_weighted_mean_and_every_quote_is_verbatim(fixtures_dir: Path) -> None:
    for name in ("backend_en", "backend_zh"):
        plan, clips = load(fixtures_dir, name)
        turns = interview(plan, clips, "strong")
        report = await score_session(plan, turns)
        assert report.overall == pytest.approx(sum(d.score * d.weight for d in report.dimensions), abs=0.06)
        said = [t.answer for t in turns]
        for d in report.dimensions:
            assert 0 <= d.score <= 10
            assert all(is_verbatim(q, said) for q in d.evidence)
        assert any(d.evidence for d in report.dimensions)


async def test_a_session_with_no_answers_scores_zero_and_says_so(fixtures_dir: Path) -> None:
    plan, _ = load(fixtures_dir, "backend_en")
    report = await score_session(plan, [])
    assert report.overall == 0 and report.recommendation is Recommendation.REJECT
    assert report.answered_questions == 0 and report.weaknesses


def test_recommendation_is_relative_to_the_pass_threshold() -> None:
    assert recommend(7.0, 6.5) is Recommendation.ADVANCE
    assert recommend(5.5, 6.5) is Recommendation.HOLD
    assert recommend(3.0, 6.5) is Recommendation.REJECT


def test_quotes_that_the_candidate_did_not_say_are_not_evidence() -> None:
    said = ["We cut deployment time from two hours to ten minutes."]
    assert is_verbatim("cut deployment time", said)
    assert is_verbatim("cut  deployment\ntime", said)
    assert not is_verbatim("cut deployment time in half", said)
    assert not is_verbatim("", said)


async def test_a_model_judge_adds_its_score_and_the_report_names_it(fixtures_dir: Path) -> None:
    import models

    plan, clips = load(fixtures_dir, "backend_en")
    turns = interview(plan, clips, "strong")
    judge = LlamaCppBackend(models.resolve("smollm2-135m-instruct"))
    try:
        report = await score_session(plan, turns, judge=judge)
    finally:
        await judge.aclose()
    judged = [d for d in report.dimensions if d.model_score is not None]
    assert judged, "the grammar-constrained judge should give at least one valid score"
    assert report.scored_by == f"rules+{judge.name}"
    for d in judged:
        assert d.model_score is not None and 0 <= d.model_score <= 10
        assert d.score == pytest.approx((d.rules_score + d.model_score) / 2, abs=0.051)
        assert judge.name in d.rationale
        assert all(is_verbatim(q, [t.answer for t in turns]) for q in d.evidence)
