"""Résumé probes: up to K extra questions, each about a verbatim span of the candidate's résumé and tied to one
plan dimension, asked after that dimension's core questions.

The model sees only the redacted résumé (dialogue.resume_redact); what it returns is checked in code: the span
must be found word for word in the résumé, the question must pass the plan's question checks and share words
with its span. A probe that fails is asked for once more with the reason; one that fails again is dropped.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any

from dialogue.language import Language, content_units
from dialogue.llm.base import LLMBackend
from dialogue.llm.structured import capped_string_schema, generate_structured, object_schema
from dialogue.plan import InterviewPlan, PlannedQuestion
from dialogue.plan_checks import duplicates, question_problem
from dialogue.prompting import render
from dialogue.resume_redact import REDACTED, redact

log = logging.getLogger(__name__)

DEFAULT_PROBES = 2
MAX_PROBES = 5
# What of the redacted résumé goes into the prompt: the model's context holds about this much beside the rest.
_PROMPT_CHARS: dict[Language, int] = {"en": 5000, "zh": 2000}
_SPAN_CAP, _QUESTION_CAP = 120, 220
PROBE_MAX_TOKENS = 500


@dataclass(frozen=True, slots=True)
class ResumeProbe:
    dimension: str
    question: str
    source_span: str  # verbatim in the résumé


def probes_to_json(probes: list[ResumeProbe]) -> list[dict[str, str]]:
    return [{"dimension": p.dimension, "question": p.question, "source_span": p.source_span} for p in probes]


def probes_from_json(raw: list[Any] | None) -> list[ResumeProbe]:
    return [ResumeProbe(str(p["dimension"]), str(p["question"]), str(p["source_span"])) for p in raw or ()]


def with_probes(plan: InterviewPlan, probes: list[ResumeProbe]) -> InterviewPlan:
    """The plan with each probe (ids r1, r2, ...) right after the last core question of its dimension."""
    if not probes:
        return plan
    questions = list(plan.questions)
    for n, probe in enumerate(probes, start=1):
        last = max((i for i, q in enumerate(questions) if q.dimension == probe.dimension), default=len(questions) - 1)
        questions.insert(last + 1, PlannedQuestion(f"r{n}", probe.question, probe.dimension, probe.source_span))
    return replace(plan, questions=tuple(questions))


def verbatim_span(span: str, resume: str) -> str | None:
    """`span` as it is written in the résumé (whitespace may differ, nothing else), or None if it is not there."""
    span = span.strip()
    if not span or REDACTED in span:
        return None
    if span in resume:
        return span
    pattern = r"\s+".join(re.escape(part) for part in span.split())
    found = re.search(pattern, resume)
    return found.group(0) if found else None


def probe_schema(plan: InterviewPlan, count: int) -> dict[str, Any]:
    probe = object_schema(
        {
            "source_span": capped_string_schema(_SPAN_CAP, min_length=4),
            "dimension": {"type": "string", "enum": [d.name for d in plan.dimensions]},
            "question": capped_string_schema(_QUESTION_CAP, min_length=8),
        }
    )
    return object_schema({"probes": {"type": "array", "items": probe, "minItems": 1, "maxItems": count}})


def probe_problem(
    probe: ResumeProbe, resume: str, plan: InterviewPlan, accepted: list[str]
) -> tuple[str | None, ResumeProbe]:
    """What is wrong with a proposed probe (None: nothing), and the probe with its span as the résumé has it."""
    language = plan.language
    span = verbatim_span(probe.source_span, resume)
    if span is None:
        return f"source_span {probe.source_span!r} is not copied word for word from the résumé", probe
    probe = replace(probe, source_span=span)
    if probe.dimension not in {d.name for d in plan.dimensions}:
        return f"{probe.dimension!r} is not one of the plan's competencies", probe
    problem = question_problem(probe.question, language)
    if problem is not None:
        return problem, probe
    if not content_units(probe.question, language) & content_units(span, language):
        return "the question does not ask about its source_span", probe
    if duplicates(probe.question, accepted, language):
        return "the question repeats another question of the interview", probe
    return None, probe


def _parse(value: Any) -> list[ResumeProbe]:
    return [
        ResumeProbe(str(p.get("dimension", "")), str(p.get("question", "")).strip(), str(p.get("source_span", "")))
        for p in value.get("probes") or ()
    ]


async def draft_probes(
    backend: LLMBackend | None,
    plan: InterviewPlan,
    resume: str,
    *,
    count: int = DEFAULT_PROBES,
    names: tuple[str, ...] = (),
) -> list[ResumeProbe]:
    """Up to `count` validated probes for this résumé (none without a model, a résumé or a count)."""
    if backend is None or count <= 0 or not resume.strip():
        return []
    redacted = redact(resume, names)[: _PROMPT_CHARS[plan.language]]
    values = {
        "count": str(count),
        "dimensions": ", ".join(d.name for d in plan.dimensions),
        "title": plan.title,
        "resume": redacted,
    }
    schema = probe_schema(plan, count)
    messages = render("resume_probe", plan.language, **values)
    accepted = [q.text for q in plan.questions]
    probes: list[ResumeProbe] = []
    problems: list[str] = []
    for _attempt in range(2):
        proposed = await generate_structured(backend, messages, schema, _parse, max_tokens=PROBE_MAX_TOKENS) or []
        problems.clear()
        for probe in proposed:
            if len(probes) >= count:
                break
            # Checked against the redacted text: a span must not be something the model was not shown.
            problem, fixed = probe_problem(probe, redacted, plan, accepted)
            if problem is None and verbatim_span(fixed.source_span, resume) is not None:
                fixed = replace(fixed, source_span=verbatim_span(fixed.source_span, resume) or fixed.source_span)
                probes.append(fixed)
                accepted.append(fixed.question)
            else:
                problems.append(problem or "source_span is not in the résumé")
        if len(probes) >= count or not problems:
            break
        # The problems quote the résumé (personal data): their words go to DEBUG only.
        log.info("%d résumé probes rejected; asking once more", len(problems))
        log.debug("résumé probes rejected: %s", "; ".join(problems))
        retry = "; ".join(problems)
        messages = [*messages, *render("resume_probe_retry", plan.language, problem=retry)]
    return probes
