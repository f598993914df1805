"""Plans drafted from the requisition alone: the packaged model's proposal, checked part by part, with the
regenerate-once-then-template rule, and a valid plan from the real model in English and Chinese."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

import models
from dialogue.llm import ChatMessage, Completion, LlamaCppBackend
from dialogue.plan import Requisition
from dialogue.plan_checks import duplicates, on_subject, question_problem
from dialogue.plan_draft import PLAN_MODEL_NAME, draft_plan, parse_proposal

SALES_EN = Requisition(
    "Sales Manager",
    "Grow our B2B accounts in the south region.",
    ("5+ years of B2B sales", "team management", "existing client network"),
    "en",
)
JAVA_ZH = Requisition(
    "Java开发工程师",
    "参与支付系统后端的设计与开发。",
    ("熟练掌握Spring Boot", "有微服务项目经验", "抗压能力强"),
    "zh",
)


def proposal(*dimensions: tuple[str, int, list[str]]) -> dict[str, Any]:
    return {
        "dimensions": [
            {"name": name, "weight": weight, "reason": f"{name} matters for the role.", "questions": questions}
            for name, weight, questions in dimensions
        ]
    }


class ScriptedBackend:
    """Answers each call with the next scripted JSON and keeps the prompts: for the fallback paths, which a
    greedy real model takes only on inputs nobody can pin down. The real model's plans are tested below."""

    name = "scripted"

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.prompts: list[list[ChatMessage]] = []

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        json_schema: dict[str, Any] | None = None,
        stop: Sequence[str] = (),
    ) -> Completion:
        self.prompts.append(list(messages))
        return Completion(json.dumps(self.answers.pop(0)), 10, 10, 0.01)

    async def aclose(self) -> None:
        pass


def test_a_proposal_needs_three_to_six_short_unique_lawful_competencies() -> None:
    good = proposal(("B2B sales", 40, ["How did you win your largest B2B deal?"]),
                    ("Team management", 30, ["Tell me about a team you managed through a hard quarter?"]),
                    ("Client network", 30, ["How did you turn a contact into a long-term client?"]))  # fmt: skip
    assert [d.name for d in parse_proposal(good, "en")] == ["B2B sales", "Team management", "Client network"]
    with pytest.raises(ValueError, match="3 to 6"):
        parse_proposal(proposal(("B2B sales", 100, ["How did you win your largest deal?"])), "en")
    twice = proposal(("Sales", 40, ["a?"]), ("sales", 30, ["b?"]), ("Team", 30, ["c?"]))
    with pytest.raises(ValueError, match="twice"):
        parse_proposal(twice, "en")
    unlawful = proposal(("Sales", 40, ["a?"]), ("Young age", 30, ["b?"]), ("Team", 30, ["c?"]))
    with pytest.raises(ValueError, match="protected trait"):
        parse_proposal(unlawful, "en")


async def test_a_failed_question_is_asked_for_once_more_then_replaced_by_the_template() -> None:
    backend = ScriptedBackend(
        proposal(
            ("B2B sales", 40, ["How old are you and how long have you been selling to businesses?"]),
            ("Team management", 40, ["Tell me about a team you managed through a hard quarter?"]),
            ("Client network", 20, ["What is your favourite colour?"]),
        ),
        {"question": "Tell me about the largest B2B sales deal you closed: how did you win it?"},
        {"question": "What is your favourite food?"},
    )
    plan, stats = await draft_plan(backend, SALES_EN)
    assert [q.text for q in plan.questions] == [
        "Tell me about the largest B2B sales deal you closed: how did you win it?",
        "Tell me about a team you managed through a hard quarter?",
        "Tell me about a time your work relied on Client network. What was the situation, what did you do, "
        "and what was the result?",
    ]
    assert [d.weight for d in plan.dimensions] == pytest.approx([0.4, 0.4, 0.2])
    assert (stats.proposed_questions, stats.valid_first_try, stats.valid_on_retry, stats.templated) == (3, 1, 1, 1)
    # The second ask says why the first question was refused.
    assert "protected trait (age)" in backend.prompts[1][-1].content


async def test_a_proposal_that_fails_twice_gives_the_rule_based_plan() -> None:
    bad = proposal(("Sales", 50, ["How did you sell?"]), ("Marital status", 50, ["Are you married?"]))
    backend = ScriptedBackend(bad, bad)
    plan, stats = await draft_plan(backend, SALES_EN)
    assert stats.template_plan and len(backend.prompts) == 2
    assert [d.name for d in plan.dimensions] == [*SALES_EN.requirements, "communication"]
    assert "3 to 6" in backend.prompts[1][-1].content


# Not the prompt's own example (a sales manager): the model must plan a job it was not shown.
SUPPORT_EN = Requisition(
    "Customer Support Lead",
    "Lead a team of eight agents answering customers by chat and phone.",
    ("people management", "handling escalations", "support metrics such as CSAT"),
    "en",
)


@pytest.fixture(scope="module")
async def planner() -> AsyncIterator[LlamaCppBackend]:
    backend = LlamaCppBackend(models.resolve(PLAN_MODEL_NAME), n_ctx=4096, n_threads=1)
    yield backend
    await backend.aclose()


@pytest.mark.timeout(900)  # one whole plan from the 1.5B model on a shared 2-core machine
@pytest.mark.parametrize("req", [SUPPORT_EN, JAVA_ZH], ids=["en", "zh"])
async def test_the_packaged_model_drafts_a_valid_plan_from_the_requisition(
    planner: LlamaCppBackend, req: Requisition
) -> None:
    plan, stats = await draft_plan(planner, req)
    assert not stats.template_plan, stats.problems
    assert 3 <= len(plan.dimensions) <= 6
    assert sum(d.weight for d in plan.dimensions) == pytest.approx(1.0)
    assert all(d.reason for d in plan.dimensions)
    earlier: list[str] = []
    for q in plan.questions:
        assert question_problem(q.text, req.language) is None, q.text
        assert on_subject(q.text, q.dimension, req.language), (q.text, q.dimension)
        assert not duplicates(q.text, earlier, req.language), q.text
        earlier.append(q.text)
    assert {q.dimension for q in plan.questions} == {d.name for d in plan.dimensions}
    # Mostly the model's own questions, not the template standing in for them.
    assert stats.templated < len(plan.questions) / 2, stats.problems
