"""hr.question_analytics: what a valid answer is, the per-version rates, discrimination, AI–human agreement and the
A/B comparison of two versions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from hr.question_analytics import (
    Answer,
    Asking,
    QuestionVersionStats,
    ai_level,
    compare_versions,
    human_level,
    is_valid_answer,
    quadratic_weighted_kappa,
    question_analytics,
)

GOOD_EN = " ".join(["word"] * 25)


def _answer(text: str = GOOD_EN, relevant: bool = True, refusal: bool = False, star: int = 3) -> Answer:
    return Answer(text, relevant, refusal, star)


def _asking(interview: str, first: Answer | None = None, **changes: object) -> Asking:
    fields: dict[str, object] = {
        "interview_id": interview,
        "question_id": "q1",
        "version": 1,
        "language": "en",
        "behavioural": False,
        "first_answer": first,
        "follow_up_answer": None,
        "followed_up": False,
        "rephrase_requested": False,
        "abandoned": False,
    }
    fields.update(changes)
    return Asking(**fields)  # type: ignore[arg-type]


def _one(askings: list[Asking]) -> QuestionVersionStats:
    [stats_] = question_analytics(askings)
    return stats_


def test_a_valid_english_answer_needs_25_words_relevance_no_refusal() -> None:
    assert is_valid_answer(_answer(), "en", behavioural=False)
    assert not is_valid_answer(_answer(" ".join(["word"] * 24)), "en", behavioural=False)
    assert not is_valid_answer(_answer("   "), "en", behavioural=False)
    assert not is_valid_answer(None, "en", behavioural=False)
    assert not is_valid_answer(_answer(relevant=False), "en", behavioural=False)
    assert not is_valid_answer(_answer(refusal=True), "en", behavioural=False)


def test_a_behavioural_answer_also_needs_two_star_elements() -> None:
    assert is_valid_answer(_answer(star=2), "en", behavioural=True)
    assert not is_valid_answer(_answer(star=1), "en", behavioural=True)
    assert is_valid_answer(_answer(star=0), "en", behavioural=False)


def test_a_valid_chinese_answer_needs_40_characters_punctuation_and_spaces_not_counted() -> None:
    forty = "我们" * 20
    assert is_valid_answer(_answer(forty), "zh", behavioural=False)
    assert not is_valid_answer(_answer(forty[:39] + "，。 ！"), "zh", behavioural=False)


def test_rates_per_version_over_times_asked() -> None:
    vague = _answer("I did things.")
    askings = [
        _asking("i1", _answer()),
        _asking("i2", vague, followed_up=True, follow_up_answer=_answer()),
        _asking("i3", vague, followed_up=True, follow_up_answer=vague, rephrase_requested=True),
        _asking("i4", None, abandoned=True, rephrase_requested=True),
    ]
    s = _one(askings)
    assert s.times_asked == 4
    assert (s.valid_first.hits, s.valid_first.rate) == (1, 0.25)
    assert (s.valid_after_follow_up.hits, s.valid_after_follow_up.rate) == (2, 0.5)
    assert s.rephrase_requests.rate == 0.5 and s.follow_ups.rate == 0.5 and s.abandonment.rate == 0.25
    assert s.median_answer_length == 3.0  # 25, 3, 3 words: the abandoned asking has no answer
    assert s.discrimination is None and s.agreement_kappa is None


def test_versions_are_kept_apart() -> None:
    askings = [_asking("i1", _answer()), _asking("i2", None, version=2), _asking("i3", _answer(), question_id="q2")]
    assert [(s.question_id, s.version, s.times_asked) for s in question_analytics(askings)] == [
        ("q1", 1, 1),
        ("q1", 2, 1),
        ("q2", 1, 1),
    ]


def test_one_version_in_two_languages_is_refused() -> None:
    with pytest.raises(ValueError, match="one only"):
        question_analytics([_asking("i1"), _asking("i2", language="zh")])


def _wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_thirty_to_seventy_percent_over_thirty_interviews_per_arm_is_significant() -> None:
    def arm(version: int, valid: int) -> list[Asking]:
        return [
            _asking(f"v{version}-{i}", _answer() if i < valid else _answer("Not sure."), version=version)
            for i in range(30)
        ]

    old, new = question_analytics(arm(1, 9) + arm(2, 21))
    comparison = compare_versions(old, new)
    assert (comparison.a.rate, comparison.b.rate) == (0.3, 0.7)
    assert comparison.difference == pytest.approx(0.4)
    # Pooled rate 0.5: standard error sqrt(0.25 × 2/30) = 0.12910, z = 0.4 / 0.12910 = 3.0984, p = 0.00195.
    assert comparison.z == pytest.approx(3.0984, abs=1e-4)
    assert comparison.p_value == pytest.approx(0.00195, abs=1e-5)
    assert comparison.significant
    # Wilson: 9/30 → 0.1666 to 0.4788, 21/30 → 0.5212 to 0.8334; the two intervals do not overlap.
    assert (comparison.a.ci_low, comparison.a.ci_high) == pytest.approx((0.16665, 0.47876), abs=1e-5)
    assert (comparison.b.ci_low, comparison.b.ci_high) == pytest.approx((0.52124, 0.83335), abs=1e-5)
    assert (comparison.a.ci_low, comparison.a.ci_high) == pytest.approx(_wilson_by_hand(9, 30), abs=1e-12)


def test_a_small_difference_is_not_called_significant() -> None:
    def arm(version: int, valid: int) -> list[Asking]:
        return [_asking(f"{version}-{i}", _answer() if i < valid else None, version=version) for i in range(30)]

    old, new = question_analytics(arm(1, 12) + arm(2, 15))
    comparison = compare_versions(old, new)
    assert comparison.p_value > 0.05 and not comparison.significant


def test_quadratic_weighted_kappa_on_a_hand_computed_case() -> None:
    # Ratings 0,1,2,2 against 0,2,2,1 on three levels: observed cost (1/4 + 1/4)/4 = 0.125, chance cost
    # 1.375/4 = 0.34375, so kappa = 1 - 0.5/1.375 = 7/11.
    assert quadratic_weighted_kappa([0, 1, 2, 2], [0, 2, 2, 1], levels=3) == pytest.approx(7 / 11)
    assert quadratic_weighted_kappa([0, 2, 3], [0, 2, 3]) == 1.0
    assert quadratic_weighted_kappa([2, 2], [2, 2]) is None  # nobody varies: agreement says nothing


def test_agreement_is_measured_where_a_human_reviewed() -> None:
    askings = [
        _asking("i1", _answer(), ai_rating=0, human_rating=0),
        _asking("i2", _answer(), ai_rating=2, human_rating=3),
        _asking("i3", _answer(), ai_rating=3, human_rating=3),
        _asking("i4", _answer(), ai_rating=3),  # no human: left out
    ]
    s = _one(askings)
    assert s.reviewed == 3
    assert s.agreement_kappa == pytest.approx(quadratic_weighted_kappa([0, 2, 3], [0, 3, 3]))
    assert s.agreement_kappa is not None and 0 < s.agreement_kappa < 1


def test_ai_and_human_ratings_meet_on_the_scorecards_four_levels() -> None:
    # The report's bands: limited below 3.5, developing below 5.5, solid below 7.5, strong from 7.5.
    assert [ai_level(x) for x in (0.0, 3.4, 3.5, 5.4, 5.5, 7.4, 7.5, 10.0)] == [0, 0, 1, 1, 2, 2, 3, 3]
    # A scorecard's 1-4 less one; several reviewers: their median, a half rounded up.
    assert [human_level(r) for r in ([1], [4], [2, 3], [1, 2, 4], [3, 3, 4, 4])] == [0, 3, 2, 1, 3]


def test_discrimination_leaves_the_item_out_of_the_total() -> None:
    # Two questions per interview: the rest score of one is the other's score, so the corrected item-total
    # correlation is their plain correlation (the uncorrected one would include the item itself).
    rng = np.random.default_rng(1)
    first, second = rng.normal(6, 2, 20), rng.normal(6, 2, 20)
    askings = [_asking(f"i{i}", _answer(), score=float(first[i])) for i in range(20)]
    askings += [_asking(f"i{i}", _answer(), question_id="q2", score=float(second[i])) for i in range(20)]
    q1, q2 = question_analytics(askings)
    expected = stats.pearsonr(first, second).statistic
    assert q1.discrimination == pytest.approx(expected) and q2.discrimination == pytest.approx(expected)
    assert q1.discrimination_pairs == 20


def test_a_question_that_tracks_ability_discriminates_and_a_noisy_one_does_not() -> None:
    rng = np.random.default_rng(2)
    ability = rng.normal(0, 1, 80)
    askings = []
    for i, a in enumerate(ability):
        for q in ("q1", "q2", "q3"):
            askings.append(_asking(f"i{i}", _answer(), question_id=q, score=float(6 + 1.5 * a + rng.normal(0, 0.7))))
        askings.append(_asking(f"i{i}", _answer(), question_id="noisy", score=float(rng.normal(6, 1.5))))
    by_id = {s.question_id: s for s in question_analytics(askings)}
    assert by_id["q1"].discrimination is not None and by_id["q1"].discrimination > 0.6
    noisy = by_id["noisy"].discrimination
    assert noisy is not None and abs(noisy) < 0.3


def test_too_few_scored_answers_give_no_discrimination() -> None:
    askings = [_asking(f"i{i}", _answer(), score=float(i)) for i in range(9)]
    askings += [_asking(f"i{i}", _answer(), question_id="q2", score=float(i % 3)) for i in range(9)]
    assert all(s.discrimination is None and s.discrimination_pairs == 9 for s in question_analytics(askings))
