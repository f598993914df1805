"""Résumé probes: spans verbatim in the résumé, tied to a plan dimension, placed after that dimension's questions."""

from __future__ import annotations

from dialogue.plan import DimensionSpec, QuestionSpec, Requisition, build_plan
from dialogue.resume_probes import (
    ResumeProbe,
    probe_problem,
    probes_from_json,
    probes_to_json,
    verbatim_span,
    with_probes,
)

RESUME = "Experience\n2019-2023 Led the migration of the billing service to Kubernetes,\ncutting costs by 30%."
PLAN = build_plan(
    Requisition(
        "Backend Engineer",
        "",
        ("Kubernetes", "teamwork"),
        "en",
        dimensions=(DimensionSpec("Kubernetes", 0.6), DimensionSpec("teamwork", 0.4)),
        questions=(
            QuestionSpec("Tell me about a Kubernetes cluster you ran in production?", "Kubernetes"),
            QuestionSpec("Tell me about a time you disagreed with a teammate?", "teamwork"),
        ),
    )
)


def test_a_span_is_found_verbatim_or_not_at_all() -> None:
    assert (
        verbatim_span("Led the migration of the billing service", RESUME) == "Led the migration of the billing service"
    )
    # Only whitespace may differ; the span returned is the résumé's own text.
    assert verbatim_span("to Kubernetes, cutting costs", RESUME) == "to Kubernetes,\ncutting costs"
    assert verbatim_span("Led a migration of the billing service", RESUME) is None
    assert verbatim_span("cut costs by 30%", RESUME) is None
    assert verbatim_span("[redacted] led", "[redacted] led the team") is None


def test_a_probe_must_quote_the_resume_and_ask_about_what_it_quotes() -> None:
    good = ResumeProbe("Kubernetes", "How did you plan the migration of the billing service to Kubernetes?",
                       "migration of the billing service to Kubernetes")  # fmt: skip
    assert probe_problem(good, RESUME, PLAN, [])[0] is None
    invented = ResumeProbe("Kubernetes", "How did you migrate the payroll service?", "migrated the payroll service")
    assert "word for word" in (probe_problem(invented, RESUME, PLAN, [])[0] or "")
    off_topic = ResumeProbe("Kubernetes", "What is your favourite programming language?", "cutting costs by 30%")
    assert "does not ask about" in (probe_problem(off_topic, RESUME, PLAN, [])[0] or "")
    unknown = ResumeProbe("Sales", "How did you cut costs by 30% in the migration?", "cutting costs by 30%")
    assert "not one of the plan" in (probe_problem(unknown, RESUME, PLAN, [])[0] or "")


def test_probes_follow_the_core_questions_of_their_dimension() -> None:
    probes = [
        ResumeProbe("Kubernetes", "How did you cut costs by 30% in that migration?", "cutting costs by 30%"),
        ResumeProbe("teamwork", "Who worked with you on the billing service migration?", "billing service"),
    ]
    plan = with_probes(PLAN, probes)
    assert [q.id for q in plan.questions] == ["q1", "r1", "q2", "r2"]
    assert plan.questions[1].source_span == "cutting costs by 30%"
    assert with_probes(PLAN, []) == PLAN
    assert probes_from_json(probes_to_json(probes)) == probes
