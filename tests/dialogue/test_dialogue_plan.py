"""The interview plan: derived dimensions, weights, question-to-dimension assignment, and plan errors."""

from __future__ import annotations

import pytest

from dialogue.plan import DimensionSpec, PlanError, QuestionSpec, Requisition, build_plan

REQS = ("Spring Boot", "microservices", "works well under pressure")


def req(**kw: object) -> Requisition:
    base: dict[str, object] = {"title": "Backend Engineer", "description": "", "requirements": REQS, "language": "en"}
    base.update(kw)
    return Requisition(**base)  # type: ignore[arg-type]


def test_dimensions_are_derived_from_requirements_plus_communication_with_equal_weights() -> None:
    plan = build_plan(req())
    assert [d.name for d in plan.dimensions] == [*REQS, "communication"]
    assert sum(d.weight for d in plan.dimensions) == pytest.approx(1.0)
    assert len({d.weight for d in plan.dimensions}) == 1


def test_generated_questions_are_star_questions_one_per_requirement() -> None:
    plan = build_plan(req())
    assert [q.dimension for q in plan.questions] == list(REQS)
    assert all("result" in q.text and q.text.endswith("?") for q in plan.questions)


def test_generated_chinese_questions_are_in_chinese() -> None:
    plan = build_plan(req(language="zh", requirements=("熟练掌握Spring Boot", "抗压能力强")))
    assert "沟通表达" in [d.name for d in plan.dimensions]
    assert all("结果" in q.text for q in plan.questions)


def test_given_questions_keep_their_order_and_match_dimensions_by_meaning() -> None:
    plan = build_plan(
        req(
            questions=(
                QuestionSpec("Tell me about a microservices project you worked on."),
                QuestionSpec("Describe a time you had to deliver under heavy pressure."),
                QuestionSpec("How do you keep services reliable?"),
            )
        )
    )
    assert [q.id for q in plan.questions] == ["q1", "q2", "q3"]
    assert [q.dimension for q in plan.questions] == ["microservices", "works well under pressure", "communication"]


def test_chinese_questions_match_dimensions_by_shared_characters() -> None:
    plan = build_plan(
        req(
            language="zh",
            requirements=("有微服务项目经验", "抗压能力强"),
            questions=(
                QuestionSpec("你在微服务项目中遇到的最大挑战是什么？"),
                QuestionSpec("请描述一次你在很大压力下按时交付的经历。"),
            ),
        )
    )
    assert [q.dimension for q in plan.questions] == ["有微服务项目经验", "抗压能力强"]


def test_given_dimensions_must_sum_to_one() -> None:
    with pytest.raises(PlanError, match="sum to 1"):
        build_plan(req(dimensions=(DimensionSpec("a", 0.5), DimensionSpec("b", 0.4))))
    plan = build_plan(req(dimensions=(DimensionSpec("a", 0.6), DimensionSpec("b", 0.4))))
    assert [d.weight for d in plan.dimensions] == pytest.approx([0.6, 0.4])


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"dimensions": ()}, "dimensions is empty"),
        ({"dimensions": (DimensionSpec("a", 1.0), DimensionSpec("a", 0.0))}, "unique"),
        ({"dimensions": (DimensionSpec("a", float("nan")),)}, "positive"),
        ({"questions": ()}, "questions is empty"),
        ({"questions": (QuestionSpec("  "),)}, "empty text"),
        ({"questions": (QuestionSpec("Why?", "nope"),)}, "nope"),
        ({"questions": tuple(QuestionSpec(f"Q{i}?") for i in range(21))}, "too many"),
        ({"title": " "}, "title"),
        ({"pass_threshold": -1.0}, "pass_threshold"),
    ],
)
def test_bad_requisitions_say_what_to_change(kw: dict[str, object], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        build_plan(req(**kw))
