"""hr.offers: when reviews are positive, the level hint from the overall score and the bands (each rule and its
edges), the start-date window from the decision's day, and a named decision with each refusal."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

import pytest

from dialogue.report import DimensionScore, DimensionStatus, Report, ScorerInfo, band, recommend
from hr.offers import (
    AlreadyDecidedError,
    OfferError,
    OfferSuggestion,
    StartWindow,
    decide,
    level_hint,
    review_is_positive,
    suggest_offer,
)

NOW = datetime(2027, 3, 1, 23, 30, tzinfo=UTC)


def report(scores: Mapping[str, float | None], overall: float | None) -> Report:
    return Report(
        overall=overall,
        recommendation=recommend(overall, 6.0),
        needs_human_review=False,
        dimensions=tuple(
            DimensionScore(
                name,
                1.0,
                DimensionStatus.SCORED if s is not None else DimensionStatus.INSUFFICIENT_EVIDENCE,
                s,
                band(s),
                (),
                "",
                (),
                (),
            )
            for name, s in scores.items()
        ),
        answers=(),
        strengths=(),
        weaknesses=(),
        suggestions=(),
        scored_by="test",
        scorer=ScorerInfo("none", None, "test"),
        pass_threshold=6.0,
        language="en",
        answered_questions=len(scores),
        total_questions=len(scores),
    )


@pytest.mark.parametrize(
    ("recommendations", "positive"),
    [
        (["yes"], True),
        (["strong_yes", "no_decision"], True),
        (["yes", "no"], False),
        (["strong_yes", "definitely_not"], False),
        (["no_decision"], False),
        ([], False),
    ],
)
def test_reviews_are_positive_with_a_yes_and_no_no(recommendations: list[str], positive: bool) -> None:
    assert review_is_positive(recommendations) is positive


@pytest.mark.parametrize(
    ("scores", "overall", "level"),
    [
        ({"sql": 8.5, "design": 8.0}, 8.0, "senior"),  # at the senior edge
        ({"sql": 8.5, "design": 7.9}, 7.9, "mid"),
        ({"sql": 6.5, "design": 6.5}, 6.5, "mid"),  # at the mid edge
        ({"sql": 6.4, "design": 6.4}, 6.4, "junior"),
        ({"sql": 10.0, "design": 9.0, "talk": 3.0}, 8.0, "mid"),  # one limited dimension: a step down
        ({"sql": 9.9, "design": 5.0, "talk": 4.0}, 8.0, "mid"),  # two developing: a step down
        ({"sql": 9.5, "design": 9.0, "talk": 5.0}, 8.0, "senior"),  # one developing is not enough
        ({"sql": 6.0, "design": 3.0}, 6.5, "junior"),
        ({"sql": 3.0}, 3.0, "junior"),  # never below junior
        ({"sql": 8.5, "design": None}, 8.5, "senior"),  # no evidence counts for nothing
    ],
)
def test_level_hint_starts_from_the_overall_score_and_steps_down_for_weak_bands(
    scores: dict[str, float | None], overall: float, level: str
) -> None:
    hint = level_hint(report(scores, overall))
    assert hint.level == level
    assert f"overall {overall:.1f}/10" in hint.reason


def test_the_reason_names_the_dimensions_that_lowered_the_level() -> None:
    hint = level_hint(report({"sql": 9.0, "design": 9.0, "talk": 3.0}, 8.2))
    assert hint.reason == "overall 8.2/10 suggests senior; lowered to mid for talk limited"


def test_no_overall_score_is_junior_and_says_why() -> None:
    hint = level_hint(report({"sql": None}, None))
    assert hint.level == "junior"
    assert "no overall score" in hint.reason


def test_the_suggestion_names_the_role_and_counts_the_window_from_the_decisions_day() -> None:
    s = suggest_offer(
        suggestion_id="of_1",
        interview_id="iv",
        job_id="job",
        candidate_id="cand",
        job_title="Data engineer",
        report=report({"sql": 7.0}, 7.0),
        decided_at=NOW,
        window=StartWindow(),
    )
    assert (s.role, s.level.level, s.status) == ("Data engineer", "mid", "pending")
    assert s.start_earliest == date(2027, 3, 15)  # 14 days after 1 March
    assert s.start_latest == date(2027, 3, 1) + timedelta(days=45)


@pytest.mark.parametrize(("earliest", "latest"), [(-1, 10), (20, 10), (0, 366)])
def test_a_window_that_is_not_forward_is_refused(earliest: int, latest: int) -> None:
    with pytest.raises(OfferError, match="start-date window"):
        StartWindow(earliest, latest)


def pending() -> OfferSuggestion:
    return suggest_offer(
        suggestion_id="of_1",
        interview_id="iv",
        job_id="job",
        candidate_id="cand",
        job_title="Data engineer",
        report=report({"sql": 7.0}, 7.0),
        decided_at=NOW,
        window=StartWindow(),
    )


def test_approval_records_the_name_time_and_note() -> None:
    s = pending()
    approved = decide(s, "approve", "  Dana   Reyes ", NOW, " fits the team ")
    assert (approved.status, approved.decided_by, approved.decided_at, approved.note) == (
        "approved",
        "Dana Reyes",
        NOW,
        "fits the team",
    )
    assert decide(s, "reject", "Lee", NOW, None).status == "rejected"


def test_deciding_twice_is_refused() -> None:
    approved = decide(pending(), "approve", "Dana Reyes", NOW, None)
    with pytest.raises(AlreadyDecidedError, match="already approved by Dana Reyes"):
        decide(approved, "reject", "Lee", NOW, None)


def test_deciding_without_a_name_is_refused() -> None:
    with pytest.raises(OfferError, match="decided_by: name the person"):
        decide(pending(), "approve", "   ", NOW, None)
