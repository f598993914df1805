"""hr.reviews and hr.review_email: a job's reviewer list and each refusal, a scorecard checked against the report's
dimensions (each refusal), what a blind reviewer sees before and after submitting, and the review request e-mail in
en and zh, read back as a mail client would."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy

import pytest

from hr.calendar_invite import Person
from hr.review_email import ReviewLetter, review_request_email
from hr.reviews import (
    InvalidScorecardError,
    ReviewError,
    ReviewPolicy,
    review_policy,
    reviewer,
    reviewer_id,
    scorecard,
    visibility,
)

NOW = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
DIMENSIONS = ("sql", "design", "communication")
ANA = reviewer("Ana Silva", "Ana.Silva@Example.com")


def test_reviewers_are_kept_in_order_with_addresses_lower_cased_and_blind_by_default() -> None:
    got = review_policy([("Ana Silva", " Ana.Silva@Example.com "), ("王芳", "wang.fang@example.cn")], blind=True)
    assert [(r.name, r.email) for r in got.reviewers] == [
        ("Ana Silva", "ana.silva@example.com"),
        ("王芳", "wang.fang@example.cn"),
    ]
    assert got.blind and ReviewPolicy().blind and ReviewPolicy().reviewers == ()


@pytest.mark.parametrize(
    ("people", "message"),
    [
        ([("Ana", "ana.example.com")], "is not an e-mail address"),
        ([("Ana", "ana@example")], "is not an e-mail address"),
        ([("Ana", "Ana <ana@example.com>")], "is not an e-mail address"),
        ([("  ", "ana@example.com")], "name must be 1 to 200"),
        ([("A" * 201, "ana@example.com")], "name must be 1 to 200"),
        ([("Ana", "ana@example.com"), ("Ana again", "ANA@example.com")], "listed twice"),
        ([(f"R{n}", f"r{n}@example.com") for n in range(51)], "at most 50 reviewers"),
    ],
)
def test_a_reviewer_list_is_refused_with_a_message_naming_the_fault(
    people: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(ReviewError, match=message):
        review_policy(people, blind=True)


def test_a_name_typed_with_a_line_break_becomes_one_line() -> None:
    assert reviewer("Ana\r\nSilva", "ana@example.com").name == "Ana Silva"


def test_a_scorecard_keeps_its_ratings_recommendation_and_trimmed_comment() -> None:
    card = scorecard(ANA, {"sql": 4, "design": 1}, "yes", "  Solid SQL; design thin.  ", DIMENSIONS)
    assert card.ratings == {"sql": 4, "design": 1}
    assert (card.recommendation, card.comment, card.reviewer) == ("yes", "Solid SQL; design thin.", ANA)
    assert scorecard(ANA, {}, "no_decision", "   ", DIMENSIONS).comment is None


@pytest.mark.parametrize(
    ("ratings", "recommendation", "comment", "message"),
    [
        ({"sql": 3}, "maybe", None, r"recommendation 'maybe' is not one of strong_yes, yes, no, definitely_not"),
        ({"sql": 3}, "Strong_Yes", None, "recommendation 'Strong_Yes'"),
        ({"sql": 5}, "yes", None, r"rating 5 for 'sql': use 1 to 4"),
        ({"sql": 0}, "yes", None, r"rating 0 for 'sql': use 1 to 4"),
        ({"sql": True}, "yes", None, r"rating True for 'sql'"),
        ({"python": 3}, "yes", None, r"no dimension 'python' in this interview's report; rate 'sql', 'design'"),
        ({}, "yes", "x" * 5001, "at most 5000 characters"),
    ],
)
def test_a_scorecard_is_refused_with_a_message_naming_the_fault(
    ratings: dict[str, int], recommendation: str, comment: str | None, message: str
) -> None:
    with pytest.raises(InvalidScorecardError, match=message):
        scorecard(ANA, ratings, recommendation, comment, DIMENSIONS)


def test_a_blind_reviewer_sees_the_ai_and_the_others_only_after_their_own_scorecard() -> None:
    before, after = visibility(True, submitted_own=False), visibility(True, submitted_own=True)
    assert (before.ai_score, before.others) == (False, False)
    assert (after.ai_score, after.others) == (True, True)
    open_review = visibility(False, submitted_own=False)
    assert (open_review.ai_score, open_review.others) == (True, True)


def test_a_reviewer_id_is_a_stable_pseudonym_of_the_address_not_the_address() -> None:
    assert reviewer_id("Ana.Silva@Example.com ") == reviewer_id("ana.silva@example.com")
    assert reviewer_id("ana.silva@example.com") != reviewer_id("ana@example.com")
    assert "ana" not in reviewer_id("ana.silva@example.com") and reviewer_id("x@y.z").startswith("rv_")


def _letter(language: str, *, blind: bool) -> ReviewLetter:
    return ReviewLetter(
        job_title="Data\nengineer" if language == "en" else "数据工程师",
        candidate_name="Lee Min" if language == "en" else "李敏",
        language="zh" if language == "zh" else "en",
        link="https://hr.example.com/v1/reviews/rev_1",
        due_at=NOW + timedelta(days=7),
        blind=blind,
        sender=Person("hr@example.com", "Acme HR"),
        reviewer=Person("ana.silva@example.com", "Ana Silva"),
        message_domain="example.com",
    )


def _read(language: str, *, blind: bool) -> email.message.EmailMessage:
    raw = review_request_email(_letter(language, blind=blind), NOW).as_bytes()
    assert all(b < 128 for b in raw), "7-bit clean"
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_the_english_request_names_candidate_job_link_and_due_date_and_says_it_is_blind() -> None:
    message = _read("en", blind=True)
    assert message["Subject"] == "Finished, please review: Lee Min for Data engineer"
    assert message["To"] == "Ana Silva <ana.silva@example.com>" and message["Content-Language"] == "en"
    body = message.get_content()
    assert "https://hr.example.com/v1/reviews/rev_1" in body
    assert "Mon 8 Mar 2027, 09:30 (UTC)" in body
    assert "once you have submitted yours" in body


def test_the_chinese_request_is_in_chinese_and_an_open_review_does_not_claim_to_be_blind() -> None:
    message = _read("zh", blind=False)
    assert message["Subject"] == "面试已完成，请审阅：李敏（数据工程师）"
    assert message["Content-Language"] == "zh-CN"
    body = message.get_content()
    assert "请在2027年3月8日 09:30（UTC）前审阅" in body and "https://hr.example.com/v1/reviews/rev_1" in body
    assert "提交您的评分表后" not in body
    assert "once you have submitted" not in _read("en", blind=False).get_content()
