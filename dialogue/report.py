"""The report a session ends with: per-dimension scores with verbatim evidence, strengths, weaknesses, advice.

A recommendation only: nothing here rejects a candidate or sends anything to anyone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Recommendation(enum.Enum):
    ADVANCE = "advance"
    HOLD = "hold"
    REJECT = "reject"


# Below the pass threshold by at most this much, a person should look before deciding.
HOLD_MARGIN = 1.5


def recommend(overall: float, pass_threshold: float) -> Recommendation:
    if overall >= pass_threshold:
        return Recommendation.ADVANCE
    if overall >= pass_threshold - HOLD_MARGIN:
        return Recommendation.HOLD
    return Recommendation.REJECT


@dataclass(frozen=True, slots=True)
class DimensionScore:
    name: str
    weight: float
    score: float
    evidence: tuple[str, ...]
    rationale: str
    rules_score: float
    model_score: float | None = None


@dataclass(frozen=True, slots=True)
class Report:
    overall: float
    recommendation: Recommendation
    dimensions: tuple[DimensionScore, ...]
    strengths: tuple[str, ...]
    weaknesses: tuple[str, ...]
    suggestions: tuple[str, ...]
    scored_by: str
    pass_threshold: float
    language: str
    answered_questions: int
    total_questions: int
    notes: tuple[str, ...] = field(default=())


def is_verbatim(quote: str, sources: list[str]) -> bool:
    """A quote counts as evidence only if it is a span of what the candidate actually said."""
    q = " ".join(quote.split())
    return bool(q) and any(q in " ".join(s.split()) for s in sources)
