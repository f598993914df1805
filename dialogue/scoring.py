"""Scores a finished session: rules over measurable answer features, plus a capable model's judgement if set.

`score_session` is the entry point; the report says which part came from the rules and which from the model.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dialogue.answer_features import AnswerFeatures, answer_features, specificity, star_elements
from dialogue.language import Language
from dialogue.llm.base import LLMBackend
from dialogue.llm.structured import generate_structured
from dialogue.phrases import phrases
from dialogue.plan import COMMUNICATION, InterviewPlan
from dialogue.prompting import render
from dialogue.report import DimensionScore, Report, is_verbatim, recommend
from dialogue.session import Turn
from media.sentences import split_sentences

log = logging.getLogger(__name__)

# How much each feature counts in the rules score; STAR and specificity carry most of an answer's substance.
FEATURE_WEIGHTS = {"star": 0.30, "specificity": 0.30, "relevance": 0.15, "length": 0.15, "coverage": 0.10}
MAX_EVIDENCE = 2
JUDGE_MAX_TOKENS = 220

RelevanceFn = Callable[[str, str], float]


@dataclass(frozen=True, slots=True)
class AnsweredQuestion:
    question_id: str
    question: str
    dimension: str
    answer: str
    features: AnswerFeatures


def answered_questions(plan: InterviewPlan, turns: Sequence[Turn]) -> list[AnsweredQuestion]:
    """Each main question with everything said about it, follow-up answers included."""
    out = []
    for q in plan.questions:
        said = " ".join(t.answer for t in turns if t.main_question_id == q.id)
        if said.strip():
            features = answer_features(said, q.text, plan.language, plan.requirements, topic=q.dimension)
            out.append(AnsweredQuestion(q.id, q.text, q.dimension, said, features))
    return out


def _coverage(dimension: str, answers: list[AnsweredQuestion], plan: InterviewPlan) -> float:
    covered = set().union(*(a.features.coverage_terms for a in answers)) if answers else set()
    if dimension in plan.requirements:
        return 1.0 if dimension in covered else 0.0
    return len(covered) / len(plan.requirements) if plan.requirements else 1.0


def _feature_means(answers: list[AnsweredQuestion], plan: InterviewPlan, dimension: str) -> dict[str, float]:
    n = len(answers)
    return {
        "star": sum(a.features.star_ratio for a in answers) / n,
        "specificity": sum(a.features.specificity for a in answers) / n,
        "relevance": sum(a.features.relevance for a in answers) / n,
        "length": sum(a.features.length for a in answers) / n,
        "coverage": _coverage(dimension, answers, plan),
    }


def _evidence(answers: list[AnsweredQuestion], language: Language) -> tuple[str, ...]:
    """The candidate's most concrete sentences, verbatim."""
    candidates = [s for a in answers for s in split_sentences(a.answer)]
    ranked = sorted(
        candidates,
        key=lambda s: (len(star_elements(s, language)) + 2 * specificity(s, language), len(s)),
        reverse=True,
    )
    return tuple(ranked[:MAX_EVIDENCE])


def _answers_for(dimension: str, answers: list[AnsweredQuestion], plan: InterviewPlan) -> list[AnsweredQuestion]:
    """A dimension's own questions; communication, and a dimension no question targets, is judged on all."""
    if dimension == COMMUNICATION[plan.language]:
        return answers
    own = [a for a in answers if a.dimension == dimension]
    if own or any(q.dimension == dimension for q in plan.questions):
        return own
    return answers


@dataclass(frozen=True, slots=True)
class _Judgement:
    score: int
    rationale: str
    quotes: tuple[str, ...]


_JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "score": {"type": "integer", "enum": list(range(11))},
        "rationale": {"type": "string", "maxLength": 240},
        "quotes": {"type": "array", "items": {"type": "string", "maxLength": 160}, "maxItems": 2},
    },
    "required": ["score", "rationale", "quotes"],
}


def _parse_judgement(raw: Any) -> _Judgement:
    score = raw["score"]
    if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 10:
        raise ValueError(f"score {score!r} is not an integer from 0 to 10")
    rationale = str(raw["rationale"]).strip()
    if not rationale:
        raise ValueError("empty rationale")
    quotes = tuple(str(q) for q in raw.get("quotes", []) if isinstance(q, str))
    return _Judgement(score, rationale, quotes)


async def _judge(
    backend: LLMBackend, plan: InterviewPlan, dimension: str, answers: list[AnsweredQuestion]
) -> _Judgement | None:
    transcript = "\n".join(f"Q: {a.question}\nA: {a.answer}" for a in answers)
    messages = render("judge", plan.language, title=plan.title, dimension=dimension, answers=transcript)
    return await generate_structured(backend, messages, _JUDGE_SCHEMA, _parse_judgement, max_tokens=JUDGE_MAX_TOKENS)


def _summaries(
    means: dict[str, float], covered: set[str], plan: InterviewPlan
) -> tuple[list[str], list[str], list[str]]:
    p = phrases(plan.language)
    sep = "、" if plan.language == "zh" else ", "
    missing = [r for r in plan.requirements if r not in covered]
    strengths, weaknesses, suggestions = [], [], []
    if means["star"] >= 0.67:
        strengths.append(p.strength["star"])
    elif means["star"] < 0.5:
        weaknesses.append(p.weakness["star"])
        suggestions.append(p.suggestion["star"])
    if means["specificity"] >= 0.5:
        strengths.append(p.strength["specificity"])
    elif means["specificity"] < 0.3:
        weaknesses.append(p.weakness["specificity"])
        suggestions.append(p.suggestion["specificity"])
    if covered:
        strengths.append(p.strength["coverage"].format(terms=sep.join(sorted(covered))))
    if missing:
        weaknesses.append(p.weakness["coverage"].format(terms=sep.join(missing)))
        suggestions.append(p.suggestion["coverage"].format(terms=sep.join(missing)))
    if means["relevance"] >= 0.6:
        strengths.append(p.strength["relevance"])
    elif means["relevance"] < 0.25:
        weaknesses.append(p.weakness["relevance"])
        suggestions.append(p.suggestion["relevance"])
    if means["length"] < 0.4:
        weaknesses.append(p.weakness["length"])
        suggestions.append(p.suggestion["length"])
    return strengths, weaknesses, suggestions


def _rescored_relevance(answers: list[AnsweredQuestion], relevance: RelevanceFn) -> list[AnsweredQuestion]:
    return [
        AnsweredQuestion(
            a.question_id,
            a.question,
            a.dimension,
            a.answer,
            AnswerFeatures(
                a.features.star,
                a.features.specificity,
                max(a.features.relevance, relevance(a.question, a.answer)),
                a.features.length,
                a.features.coverage_terms,
            ),
        )
        for a in answers
    ]


async def score_session(
    plan: InterviewPlan,
    turns: Sequence[Turn],
    *,
    judge: LLMBackend | None = None,
    relevance: RelevanceFn | None = None,
) -> Report:
    """The report for a session: rules always, the judge model's score averaged in where it gives a valid one."""
    p = phrases(plan.language)
    answers = answered_questions(plan, turns)
    if relevance is not None:
        # Embedding answers is CPU work: keep it off the event loop.
        answers = await asyncio.to_thread(_rescored_relevance, answers, relevance)
    dimensions = []
    judged = False
    for d in plan.dimensions:
        own = _answers_for(d.name, answers, plan)
        if not own:
            dimensions.append(DimensionScore(d.name, round(d.weight, 6), 0.0, (), p.not_covered, 0.0))
            continue
        means = _feature_means(own, plan, d.name)
        rules = round(10 * sum(FEATURE_WEIGHTS[k] * v for k, v in means.items()), 1)
        evidence = list(_evidence(own, plan.language))
        rationale = p.rationale.format(answers=len(own), **means)
        score, model_score = rules, None
        if judge is not None:
            verdict = await _judge(judge, plan, d.name, own)
            if verdict is not None:
                judged = True
                model_score = float(verdict.score)
                score = round((rules + model_score) / 2, 1)
                rationale += " " + p.judged_by_model.format(
                    model=judge.name, score=verdict.score, rationale=verdict.rationale
                )
                sources = [a.answer for a in own]
                evidence += [q for q in verdict.quotes if is_verbatim(q, sources) and q not in evidence]
        dimensions.append(
            DimensionScore(
                d.name, round(d.weight, 6), score, tuple(evidence[: MAX_EVIDENCE + 2]), rationale, rules, model_score
            )
        )
    overall = round(sum(d.score * d.weight for d in dimensions), 1)
    covered: set[str] = set().union(*(a.features.coverage_terms for a in answers)) if answers else set()
    if answers:
        strengths, weaknesses, suggestions = _summaries(_feature_means(answers, plan, ""), covered, plan)
    else:
        strengths, weaknesses, suggestions = [], [p.not_covered], []
    return Report(
        overall=overall,
        recommendation=recommend(overall, plan.pass_threshold),
        dimensions=tuple(dimensions),
        strengths=tuple(strengths),
        weaknesses=tuple(weaknesses),
        suggestions=tuple(suggestions),
        scored_by=f"rules+{judge.name}" if judged and judge is not None else "rules",
        pass_threshold=plan.pass_threshold,
        language=plan.language,
        answered_questions=len(answers),
        total_questions=len(plan.questions),
    )
