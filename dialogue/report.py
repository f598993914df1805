"""The report a session ends with, as typed structures end to end, in two views.

`Report` is HR's view: every dimension's score and band, each answer's signals and factors, what was removed as
addressed to the scorer, which model scored it (with its file's sha256) and the prompt version. `CandidateReport`
is the candidate's view of the same report: bands, verbatim evidence and suggestions, nothing meant for HR.

A recommendation only: nothing here rejects a candidate or sends anything to anyone.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class Recommendation(enum.Enum):
    ADVANCE = "advance"
    HOLD = "hold"
    REJECT = "reject"


class Band(enum.Enum):
    STRONG = "strong"
    SOLID = "solid"
    DEVELOPING = "developing"
    LIMITED = "limited"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"


class DimensionStatus(enum.Enum):
    SCORED = "scored"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"


# Below the pass threshold by at most this much, a person should look before deciding.
HOLD_MARGIN = 1.5
# Lower edges of the bands on the 0-10 scale.
BAND_EDGES = ((7.5, Band.STRONG), (5.5, Band.SOLID), (3.5, Band.DEVELOPING))


def overall_score(scores: Mapping[str, float], weights: Mapping[str, float]) -> float | None:
    """The weighted mean of the scored dimensions, the weights renormalised over them (a dimension without evidence
    is left out, never counted as 0), to one decimal; None when no weighted dimension was scored."""
    scored = [(scores[name], w) for name, w in weights.items() if name in scores]
    total = sum(w for _, w in scored)
    return round(sum(s * w for s, w in scored) / total, 1) if scored and total > 0 else None


def recommend(overall: float | None, pass_threshold: float) -> Recommendation:
    if overall is None:
        return Recommendation.HOLD  # nothing to go on: a person decides
    if overall >= pass_threshold:
        return Recommendation.ADVANCE
    if overall >= pass_threshold - HOLD_MARGIN:
        return Recommendation.HOLD
    return Recommendation.REJECT


def band(score: float | None) -> Band:
    if score is None:
        return Band.INSUFFICIENT_EVIDENCE
    return next((b for edge, b in BAND_EDGES if score >= edge), Band.LIMITED)


@dataclass(frozen=True, slots=True)
class Signals:
    """What the scoring model's probabilities said about one answer (see dialogue.answer_signals)."""

    rubric: float  # expected grade 0-9 over the next digit after graded examples
    surprisal: float  # nats per token of the answer; low = predictable, generic wording
    detail: float  # nats: mean surprisal of the answer's least expected tokens; low = nothing specific named
    relevance: float  # nats: PMI with its own question minus the highest PMI with another plan question
    tokens: int


@dataclass(frozen=True, slots=True)
class Factors:
    """Each signal mapped to [0, 1]; an answer's score is 10 x their product."""

    content: float  # rubric / 9
    specificity: float  # 1 unless the wording is as predictable as generic clichés
    relevance: float  # 1 unless the answer fits its question no better than other questions
    substance: float  # 1 unless the answer is a list of keywords


@dataclass(frozen=True, slots=True)
class AnswerScore:
    """One main question, judged on everything the candidate said to it (follow-up answers included)."""

    question_id: str
    question: str
    dimension: str
    turns: int
    score: float | None  # None: too few words to judge
    signals: Signals | None
    factors: Factors | None
    # Text addressed to the scorer or an AI, removed before reading; the answer was read with and without it
    # and the lower score kept.
    removed: tuple[str, ...] = ()
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class DimensionScore:
    name: str
    weight: float  # as planned
    status: DimensionStatus
    score: float | None  # None when insufficient_evidence
    band: Band
    evidence: tuple[str, ...]  # verbatim spans of the candidate's words
    rationale: str  # for HR: which answers, which signals
    suggestions: tuple[str, ...]
    answers: tuple[str, ...]  # question ids judged for this dimension
    model_score: float | None = None  # a configured judge model's own 0-10 score, reported apart, not mixed in


@dataclass(frozen=True, slots=True)
class ScorerInfo:
    scored_by: str  # the model whose probabilities gave the signals, or "none"
    model_sha256: str | None
    prompt_version: str
    judge: str | None = None  # a configured judge model, reported separately


@dataclass(frozen=True, slots=True)
class Report:
    overall: float | None  # None when no dimension had evidence
    recommendation: Recommendation
    needs_human_review: bool
    dimensions: tuple[DimensionScore, ...]
    answers: tuple[AnswerScore, ...]
    strengths: tuple[str, ...]
    weaknesses: tuple[str, ...]
    suggestions: tuple[str, ...]
    scored_by: str
    scorer: ScorerInfo
    pass_threshold: float
    language: str
    answered_questions: int
    total_questions: int
    notes: tuple[str, ...] = field(default=())
    plan_version: int = 1  # the version of the job's plan the interview ran


@dataclass(frozen=True, slots=True)
class CandidateDimension:
    name: str
    band: Band
    evidence: tuple[str, ...]
    suggestions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CandidateReport:
    """What the candidate sees with their token: no score, recommendation, threshold, HR rationale or comments."""

    language: str
    band: Band
    dimensions: tuple[CandidateDimension, ...]
    strengths: tuple[str, ...]
    suggestions: tuple[str, ...]
    answered_questions: int
    total_questions: int
    notice: str  # that an AI system conducted and scored the interview


NOTICE = {
    "en": "This interview was conducted and scored by an AI system; a person at the company makes every decision.",
    "zh": "本次面试由AI系统主持并评分；所有决定都由公司的工作人员做出。",
}


def candidate_view(report: Report) -> CandidateReport:
    return CandidateReport(
        language=report.language,
        band=band(report.overall),
        dimensions=tuple(CandidateDimension(d.name, d.band, d.evidence, d.suggestions) for d in report.dimensions),
        strengths=report.strengths,
        suggestions=report.suggestions,
        answered_questions=report.answered_questions,
        total_questions=report.total_questions,
        notice=NOTICE.get(report.language, NOTICE["en"]),
    )


def is_verbatim(quote: str, sources: list[str]) -> bool:
    """A quote counts as evidence only if it is a span of what the candidate actually said."""
    q = " ".join(quote.split())
    return bool(q) and any(q in " ".join(s.split()) for s in sources)
