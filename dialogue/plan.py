"""The interview plan: competency dimensions with weights summing to 1 and the questions tied to them.

`build_plan` turns a job requisition into a plan; what the requisition leaves out is derived from its requirements.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from dialogue.language import Language, content_units, meaning_chars
from dialogue.phrases import phrases

WEIGHT_TOLERANCE = 1e-3
MAX_QUESTIONS = 20
DEFAULT_PASS_THRESHOLD = 6.0
COMMUNICATION = {"en": "communication", "zh": "沟通表达"}


class PlanError(ValueError):
    """The requisition cannot become a plan; the message says what to change."""


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str
    weight: float
    reason: str = ""  # one line on why it matters for the role, shown to HR


@dataclass(frozen=True, slots=True)
class PlannedQuestion:
    id: str
    text: str
    dimension: str
    source_span: str = ""  # a résumé probe's words from the résumé it asks about (dialogue.resume_probes)


@dataclass(frozen=True, slots=True)
class DimensionSpec:
    name: str
    weight: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class QuestionSpec:
    text: str
    dimension: str | None = None


@dataclass(frozen=True, slots=True)
class Requisition:
    title: str
    description: str
    requirements: tuple[str, ...]
    language: Language
    dimensions: tuple[DimensionSpec, ...] | None = None
    questions: tuple[QuestionSpec, ...] | None = None
    pass_threshold: float = DEFAULT_PASS_THRESHOLD
    resume_text: str = ""


@dataclass(frozen=True, slots=True)
class InterviewPlan:
    language: Language
    title: str
    requirements: tuple[str, ...]
    dimensions: tuple[Dimension, ...]
    questions: tuple[PlannedQuestion, ...]
    pass_threshold: float = DEFAULT_PASS_THRESHOLD
    notes: tuple[str, ...] = field(default=())
    version: int = 1  # the job's plan version, numbered by the store; reports name it


def _dimension_name(requirement: str) -> str:
    name = re.sub(r"\s+", " ", requirement.strip().rstrip(".。"))
    return name[:60]


def _validated_dimensions(specs: tuple[DimensionSpec, ...]) -> tuple[Dimension, ...]:
    if not specs:
        raise PlanError("dimensions is empty: give at least one {name, weight}, or leave it out to derive them")
    names = [s.name.strip() for s in specs]
    if any(not n for n in names):
        raise PlanError("every dimension needs a non-empty name")
    if len(set(names)) != len(names):
        raise PlanError(f"dimension names must be unique, got {names}")
    for s in specs:
        if not math.isfinite(s.weight) or s.weight <= 0:
            raise PlanError(f"dimension '{s.name}' has weight {s.weight}; weights must be positive")
    total = sum(s.weight for s in specs)
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise PlanError(f"dimension weights must sum to 1, they sum to {total:.4g}")
    return tuple(Dimension(n, s.weight / total, s.reason.strip()) for n, s in zip(names, specs, strict=True))


def _derived_dimensions(requirements: tuple[str, ...], language: Language) -> tuple[Dimension, ...]:
    """One dimension per requirement plus communication, equally weighted: a neutral start HR can tune."""
    names: list[str] = []
    for r in requirements:
        n = _dimension_name(r)
        if n and n.lower() not in (x.lower() for x in names):
            names.append(n)
    communication = COMMUNICATION[language]
    if communication not in names:
        names.append(communication)
    return tuple(Dimension(n, 1.0 / len(names)) for n in names)


def _overlap(a: str, b: str, language: Language) -> int:
    shared = len(content_units(a, language) & content_units(b, language))
    if language == "zh":
        shared += len(meaning_chars(a) & meaning_chars(b))
    return shared


def _best_dimension(text: str, dimensions: tuple[Dimension, ...], language: Language, taken: list[str]) -> str:
    """The dimension whose name shares the most meaning with the question; else communication, which every
    answer shows, or failing that the least-asked dimension."""
    best = max(((_overlap(text, d.name, language), -taken.count(d.name), -i, d.name) for i, d in enumerate(dimensions)))
    if best[0] > 0:
        return best[3]
    if COMMUNICATION[language] in (d.name for d in dimensions):
        return COMMUNICATION[language]
    return min(dimensions, key=lambda d: taken.count(d.name)).name


def _generated_questions(req: Requisition, dimensions: tuple[Dimension, ...]) -> list[QuestionSpec]:
    """STAR questions from templates, one per dimension (communication is judged across all answers)."""
    p = phrases(req.language)
    communication = COMMUNICATION[req.language]
    out = [
        QuestionSpec(p.question_for_requirement.format(topic=d.name), d.name)
        for d in dimensions
        if d.name != communication
    ]
    if not out:
        out.append(QuestionSpec(p.question_general.format(title=req.title), dimensions[0].name))
    return out


def build_plan(req: Requisition) -> InterviewPlan:
    if not req.title.strip():
        raise PlanError("title is empty: name the role being interviewed for")
    if not 0 <= req.pass_threshold <= 10:
        raise PlanError(f"pass_threshold is {req.pass_threshold}; it is a score from 0 to 10")
    if req.dimensions is not None:
        dimensions = _validated_dimensions(req.dimensions)
    else:
        dimensions = _derived_dimensions(req.requirements, req.language)
    known = {d.name for d in dimensions}

    if req.questions is not None:
        if not req.questions:
            raise PlanError("questions is empty: give at least one {text}, or leave it out to generate them")
        specs = list(req.questions)
    else:
        specs = _generated_questions(req, dimensions)
    if len(specs) > MAX_QUESTIONS:
        raise PlanError(f"{len(specs)} questions is too many for one interview; the limit is {MAX_QUESTIONS}")

    questions: list[PlannedQuestion] = []
    for i, spec in enumerate(specs):
        text = spec.text.strip()
        if not text:
            raise PlanError(f"question {i + 1} has empty text")
        if spec.dimension is not None and spec.dimension not in known:
            raise PlanError(
                f"question {i + 1} names dimension '{spec.dimension}', which is not one of: {', '.join(known)}"
            )
        taken = [q.dimension for q in questions]
        dimension = spec.dimension or _best_dimension(text, dimensions, req.language, taken)
        questions.append(PlannedQuestion(id=f"q{i + 1}", text=text, dimension=dimension))
    return InterviewPlan(
        language=req.language,
        title=req.title.strip(),
        requirements=tuple(r for r in req.requirements if r.strip()),
        dimensions=dimensions,
        questions=tuple(questions),
        pass_threshold=req.pass_threshold,
    )
