"""A plan proposed by the language model from the requisition alone, validated part by part.

The model proposes 3-6 competencies (short name, weight in percent, one-line reason, one or two questions each)
as grammar-constrained JSON. Every part is checked in code (dialogue.plan_checks); what fails is asked for once
more with the reason it failed, and what fails again is replaced by the rule-based plan's template (a whole
proposal that fails: the whole template plan). The result goes through `build_plan`, like a plan HR wrote.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from dialogue.language import Language
from dialogue.llm.base import LLMBackend
from dialogue.llm.structured import capped_string_schema, generate_structured, object_schema
from dialogue.phrases import phrases
from dialogue.plan import DimensionSpec, InterviewPlan, QuestionSpec, Requisition, build_plan
from dialogue.plan_checks import dimension_problem, duplicates, on_subject, question_problem
from dialogue.prompting import render

log = logging.getLogger(__name__)

MIN_DIMENSIONS, MAX_DIMENSIONS = 3, 6
MAX_QUESTIONS_PER_DIMENSION = 2
# Weights come as whole percents from an enum: a small model keeps enum integers apart far better than it
# adds decimals up to 1. They are normalised to sum to 1 afterwards.
_PERCENTS = list(range(5, 65, 5))
# Caps that keep each string closing inside the token budget (Chinese runs about one token a character).
_CAPS: dict[Language, dict[str, int]] = {
    "en": {"name": 32, "reason": 110, "question": 220},
    "zh": {"name": 12, "reason": 50, "question": 90},
}
# The packaged model that drafts plans: chosen by bench/plan.py (see the README).
PLAN_MODEL_NAME = "qwen2.5-coder-1.5b-instruct"
PLAN_MAX_TOKENS = 1400
QUESTION_MAX_TOKENS = 160


@dataclass(frozen=True, slots=True)
class ProposedDimension:
    name: str
    weight: int
    reason: str
    questions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DraftStats:
    """How a draft went, for the job's notes and bench/plan.py."""

    model: str
    seconds: float = 0.0
    proposed_questions: int = 0  # in the model's first answer
    valid_first_try: int = 0
    valid_on_retry: int = 0
    templated: int = 0
    template_plan: bool = False  # no usable proposal: the rule-based plan was used whole
    problems: tuple[str, ...] = field(default=())


def plan_schema(language: Language) -> dict[str, Any]:
    caps = _CAPS[language]
    dimension = object_schema(
        {
            "name": capped_string_schema(caps["name"]),
            "weight": {"type": "integer", "enum": _PERCENTS},
            "reason": capped_string_schema(caps["reason"]),
            "questions": {
                "type": "array",
                "items": capped_string_schema(caps["question"], min_length=8),
                "minItems": 1,
                "maxItems": MAX_QUESTIONS_PER_DIMENSION,
            },
        }
    )
    return object_schema(
        {"dimensions": {"type": "array", "items": dimension, "minItems": MIN_DIMENSIONS, "maxItems": MAX_DIMENSIONS}}
    )


def question_schema(language: Language) -> dict[str, Any]:
    return object_schema({"question": capped_string_schema(_CAPS[language]["question"], min_length=8)})


def parse_proposal(value: Any, language: Language) -> tuple[ProposedDimension, ...]:
    """The proposal's competencies, checked as a whole (count, names, reasons, weights); raises ValueError naming
    the first problem. Questions are checked one by one afterwards, so one bad question costs only itself."""
    raw = value.get("dimensions") if isinstance(value, dict) else None
    if not isinstance(raw, list) or not MIN_DIMENSIONS <= len(raw) <= MAX_DIMENSIONS:
        raise ValueError(f"propose {MIN_DIMENSIONS} to {MAX_DIMENSIONS} competencies")
    out: list[ProposedDimension] = []
    for item in raw:
        name, reason = str(item.get("name", "")).strip(), str(item.get("reason", "")).strip()
        problem = dimension_problem(name, reason, language)
        if problem is not None:
            raise ValueError(problem)
        if name.lower() in (d.name.lower() for d in out):
            raise ValueError(f"the competency '{name}' appears twice")
        weight = item.get("weight")
        if not isinstance(weight, int) or weight <= 0:
            raise ValueError(f"the weight of '{name}' is not a positive percent")
        questions = tuple(str(q).strip() for q in item.get("questions") or () if str(q).strip())
        out.append(ProposedDimension(name, weight, reason, questions[:MAX_QUESTIONS_PER_DIMENSION]))
    return tuple(out)


def _requisition_values(req: Requisition) -> dict[str, str]:
    none = "（无）" if req.language == "zh" else "(none)"
    return {
        "title": req.title.strip(),
        "description": " ".join(req.description.split())[:1500] or none,
        "requirements": "\n".join(f"- {r.strip()}" for r in req.requirements if r.strip()) or none,
    }


async def _propose(backend: LLMBackend, req: Requisition) -> tuple[tuple[ProposedDimension, ...] | None, str]:
    """The model's proposal, asked twice at most (the second time told why the first was rejected)."""
    messages = render("plan", req.language, **_requisition_values(req))
    schema = plan_schema(req.language)
    rejected: list[str] = []

    def parse(value: Any) -> tuple[ProposedDimension, ...]:
        try:
            return parse_proposal(value, req.language)
        except ValueError as exc:
            rejected.append(str(exc))
            raise

    for attempt in range(2):
        proposal = await generate_structured(backend, messages, schema, parse, max_tokens=PLAN_MAX_TOKENS)
        if proposal is not None:
            return proposal, ""
        why = rejected[-1] if rejected else "the answer was not complete JSON"
        if attempt == 0:
            retry = render("plan_retry", req.language, problem=why)
            messages = [*messages, *retry]
    return None, rejected[-1] if rejected else "no complete JSON"


async def _question_again(
    backend: LLMBackend, req: Requisition, dimension: ProposedDimension, rejected: str, problem: str
) -> str | None:
    def parse(value: Any) -> str:
        return str(value.get("question", "")).strip()

    messages = render(
        "plan_question",
        req.language,
        title=req.title.strip(),
        dimension=dimension.name,
        reason=dimension.reason,
        rejected=rejected,
        problem=problem,
    )
    return await generate_structured(
        backend, messages, question_schema(req.language), parse, max_tokens=QUESTION_MAX_TOKENS
    )


def _problem(text: str, dimension: str, accepted: list[str], language: Language) -> str | None:
    problem = question_problem(text, language)
    if problem is None and not on_subject(text, dimension, language):
        problem = f"the question is not about {dimension}"
    if problem is None and duplicates(text, accepted, language):
        problem = "the question repeats another question of the plan"
    return problem


def _template_question(req: Requisition, dimension: str) -> str:
    return phrases(req.language).question_for_requirement.format(topic=dimension)


async def draft_plan(backend: LLMBackend | None, req: Requisition) -> tuple[InterviewPlan, DraftStats]:
    """The model's plan for a requisition that brings no dimensions or questions; the rule-based plan without
    a model or when no proposal passes. Raises PlanError only for what `build_plan` rejects in the requisition."""
    started = time.perf_counter()
    if backend is None:
        return build_plan(req), DraftStats(model="none", template_plan=True)
    proposal, why = await _propose(backend, req)
    if proposal is None:
        log.warning("no usable plan proposal from %s (%s); using the template plan", backend.name, why)
        stats = DraftStats(backend.name, time.perf_counter() - started, template_plan=True, problems=(why,))
        return build_plan(req), stats

    language = req.language
    accepted: list[str] = []
    specs: list[QuestionSpec] = []
    problems: list[str] = []
    proposed = first = retried = templated = 0
    for dimension in proposal:
        candidates = dimension.questions or ("",)
        kept = 0
        for i, text in enumerate(candidates):
            proposed += bool(text)
            problem = _problem(text, dimension.name, accepted, language)
            if problem is None:
                first += 1
            else:
                problems.append(f"{dimension.name}: {problem}: {text!r}")
                again = await _question_again(backend, req, dimension, text, problem)
                if again is not None and _problem(again, dimension.name, accepted, language) is None:
                    text = again
                    retried += 1
                elif kept == 0 and i == len(candidates) - 1:
                    # Every competency keeps one question whatever the model does: today's template.
                    text = _template_question(req, dimension.name)
                    templated += 1
                else:
                    continue
            accepted.append(text)
            specs.append(QuestionSpec(text, dimension.name))
            kept += 1
    plan = build_plan(replace(req, dimensions=_normalised(proposal), questions=tuple(specs)))
    stats = DraftStats(
        backend.name, time.perf_counter() - started, proposed, first, retried, templated, False, tuple(problems)
    )
    return plan, stats


def _normalised(proposal: tuple[ProposedDimension, ...]) -> tuple[DimensionSpec, ...]:
    total = sum(d.weight for d in proposal)
    return tuple(DimensionSpec(d.name, d.weight / total, d.reason) for d in proposal)
