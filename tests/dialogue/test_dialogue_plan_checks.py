"""The checks every generated plan part passes: one question, on its dimension, no duplicates, no protected traits."""

from __future__ import annotations

import pytest

from dialogue.plan_checks import dimension_problem, duplicates, on_subject, protected_trait, question_problem


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Tell me about a time you led your team to a difficult sales target: how did you get there?", "en"),
        ("Describe a time you designed a REST API. What was the biggest challenge and how did you solve it?", "en"),
        ("What would you do if a microservice you own started timing out under peak load?", "en"),
        ("请描述你带领团队完成1000万业绩的过程，遇到的最大挑战是什么？如何解决？", "zh"),
        ("你在微服务项目中遇到的最大挑战是什么？如何解决？", "zh"),
        ("How do you find race conditions and failing health checks in a Spring Boot service?", "en"),
        ("你是如何用面向对象的方式设计这个支付模块的？", "zh"),
    ],
)
def test_well_formed_questions_pass(text: str, language: str) -> None:
    assert question_problem(text, language) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "language", "problem"),
    [
        ("Tell me about your sales experience.", "en", "question mark"),
        ("Why?", "en", "too short"),
        ("1. What did you sell? 2. To whom? 3. How much?", "en", "list"),
        ("What did you do? Why? How? When? Who helped?", "en", "several"),
        ("How old are you, and how does that help in sales?", "en", "protected trait (age)"),
        ("Do you plan to have children in the next few years?", "en", "protected trait (family)"),
        ("Which church do you attend on weekends?", "en", "protected trait (religion)"),
        ("Where are you originally from, and does your accent matter to clients?", "en", "protected trait (origin)"),
        ("Do you have any health conditions that could affect your work?", "en", "protected trait (health)"),
        ("你今年多大了？你觉得年龄对销售有影响吗？", "zh", "protected trait (age)"),
        ("你结婚了吗？有没有生育计划？", "zh", "protected trait (family)"),
        ("你的籍贯是哪里？老家在哪个省？", "zh", "protected trait (origin)"),
        ("你有宗教信仰吗？会不会影响周末加班？", "zh", "protected trait (religion)"),
        ("你的身体状况怎么样，能适应高强度加班吗？", "zh", "protected trait (health)"),
        ("Tell me about a time you closed a difficult deal?", "zh", "not written in Chinese"),
        ("As an AI language model, what would you ask about sales?", "en", "model or the format"),
    ],
)
def test_malformed_and_unlawful_questions_are_rejected_with_the_reason(text: str, language: str, problem: str) -> None:
    found = question_problem(text, language)  # type: ignore[arg-type]
    assert found is not None and problem in found


def test_protected_traits_are_caught_in_either_language_of_the_plan() -> None:
    assert protected_trait("请问你的婚姻状况？", "en") == "family"
    assert protected_trait("What is your nationality?", "zh") == "origin"
    assert protected_trait("How do you debug a race condition?", "en") is None


@pytest.mark.parametrize(
    ("question", "dimension", "language", "on"),
    [
        ("Tell me about a team you managed through a reorganisation?", "Team management", "en", True),
        ("How did you win your largest B2B deal?", "Team management", "en", False),
        ("请描述你带领团队完成1000万业绩的过程，遇到的最大挑战是什么？", "团队管理", "zh", True),
        ("请讲一次你在很大压力下按时交付的经历？", "抗压能力", "zh", True),
        ("你是如何使用Spring Boot搭建服务的？", "Spring Boot", "zh", True),
        ("你最喜欢哪种编程语言？", "团队管理", "zh", False),
    ],
)
def test_a_question_must_be_about_its_dimension(question: str, dimension: str, language: str, on: bool) -> None:
    assert on_subject(question, dimension, language) is on  # type: ignore[arg-type]


def test_duplicates_are_the_same_question_whatever_the_spacing_or_small_changes() -> None:
    earlier = ["Tell me about the largest B2B deal you closed and how you won it?"]
    assert duplicates("Tell me about the largest  B2B deal you closed and how you won it?", earlier, "en")
    assert duplicates("Tell me about the largest B2B deal you closed, and how did you win it?", earlier, "en")
    assert not duplicates("How do you keep a team motivated through a bad quarter?", earlier, "en")
    assert duplicates("你在微服务项目中遇到的最大挑战是什么？", ["你在微服务项目中遇到的最大的挑战是什么？"], "zh")


def test_competency_names_are_short_and_reasons_one_line() -> None:
    assert dimension_problem("Team management", "The manager leads a sales team.", "en") is None
    assert dimension_problem("团队管理", "销售经理要带领团队完成业绩目标。", "zh") is None
    assert "not short" in (dimension_problem("Ability to work in a very fast paced team", "r", "en") or "")
    assert "not short" in (dimension_problem("在快节奏环境中与跨部门团队高效协作的能力", "r", "zh") or "")
    assert "one line" in (dimension_problem("Sales", "", "en") or "")
    assert "protected trait" in (dimension_problem("Marital status", "Stable family life.", "en") or "")
    assert "protected trait" in (dimension_problem("年龄优势", "年轻人更能加班。", "zh") or "")
