"""hr.validity: r, its Fisher-z interval and p-value recovered from data of known structure, the range-restriction
correction, the warnings, and the refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from hr.validity import (
    OutcomePair,
    RefusalReason,
    StudyRefusal,
    ValidityStudy,
    WarningKind,
    correct_range_restriction,
    fisher_z_interval,
    validity_study,
)


def _pairs(rho: float, n: int, seed: int, saw: int = 0) -> list[OutcomePair]:
    """n hires from a bivariate normal with correlation rho; the first `saw` raters saw the interview scores."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = rho * x + math.sqrt(1 - rho * rho) * rng.standard_normal(n)
    return [OutcomePair(5 + 1.5 * a, 3 + b, i < saw) for i, (a, b) in enumerate(zip(x, y, strict=True))]


def _study(dimension: str, pairs: list[OutcomePair], applicant_sd: float | None = None) -> ValidityStudy:
    study = validity_study(dimension, pairs, applicant_sd)
    assert isinstance(study, ValidityStudy), study
    return study


def test_recovers_a_known_correlation_at_large_n_and_its_interval_covers_it() -> None:
    study = _study("problem solving", _pairs(0.4, 20_000, seed=1))
    assert study.n == 20_000
    assert abs(study.r - 0.4) < 0.05
    assert study.ci_low < 0.4 < study.ci_high
    assert study.ci_high - study.ci_low < 0.03
    assert study.p_value < 1e-12
    assert study.warnings == ()


def test_no_correlation_is_not_significant_and_its_interval_covers_zero() -> None:
    study = _study("sql", _pairs(0.0, 400, seed=2))
    assert abs(study.r) < 0.1
    assert study.ci_low < 0 < study.ci_high
    assert study.p_value > 0.05


def test_the_95_percent_interval_covers_the_true_r_about_95_times_in_100() -> None:
    covered = 0
    for seed in range(400):
        study = _study("d", _pairs(0.3, 60, seed=seed))
        covered += study.ci_low <= 0.3 <= study.ci_high
    assert 0.92 <= covered / 400 <= 0.98


def test_fisher_z_interval_matches_the_hand_computed_one() -> None:
    # r = 0.5, n = 28: atanh(0.5) = 0.5493, standard error 1/sqrt(25) = 0.2, ±1.96 × 0.2, back through tanh.
    assert fisher_z_interval(0.5, 28) == pytest.approx((0.15603, 0.73582), abs=1e-5)


def test_p_value_agrees_with_the_t_test_of_r() -> None:
    study = _study("d", _pairs(0.25, 80, seed=3))
    t = study.r * math.sqrt((study.n - 2) / (1 - study.r**2))
    assert study.p_value == pytest.approx(2 * stats.t.sf(abs(t), study.n - 2), rel=1e-9)


def test_twelve_outcomes_are_refused_with_the_reason() -> None:
    refusal = validity_study("communication", _pairs(0.4, 12, seed=4))
    assert isinstance(refusal, StudyRefusal)
    assert refusal.reason is RefusalReason.TOO_FEW_OUTCOMES and refusal.n == 12
    assert "12" in refusal.message and "30" in refusal.message


def test_thirty_outcomes_are_enough_for_a_study_with_a_small_sample_warning() -> None:
    study = _study("d", _pairs(0.4, 30, seed=5))
    assert [w.kind for w in study.warnings] == [WarningKind.SMALL_SAMPLE]


def test_identical_scores_are_refused_rather_than_divided_by_zero() -> None:
    pairs = [OutcomePair(6.0, float(i), False) for i in range(40)]
    refusal = validity_study("d", pairs)
    assert isinstance(refusal, StudyRefusal) and refusal.reason is RefusalReason.NO_SPREAD


def test_range_restriction_correction_recovers_the_pools_correlation_and_r_stays_beside_it() -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal(200_000)
    y = 0.5 * x + math.sqrt(0.75) * rng.standard_normal(200_000)
    hired = x > np.quantile(x, 0.7)  # the top 30 % by interview score are hired
    pairs = [OutcomePair(a, b, False) for a, b in zip(x[hired][:3000], y[hired][:3000], strict=True)]
    study = _study("d", pairs, applicant_sd=float(np.std(x, ddof=1)))
    assert study.r < 0.35  # among hires the score looks weaker than it is
    assert study.corrected_r is not None and abs(study.corrected_r - 0.5) < 0.05
    assert _study("d", pairs).corrected_r is None  # no pool SD, no correction


def test_case_two_formula_on_a_hand_computed_case() -> None:
    # r = 0.3, u = 2: 0.6 / sqrt(1 + 0.09 × 3) = 0.6 / 1.12694 = 0.53241
    assert correct_range_restriction(0.3, 2.0, 1.0) == pytest.approx(0.53241, abs=1e-5)
    assert correct_range_restriction(0.3, 1.0, 1.0) == pytest.approx(0.3)


def test_raters_who_saw_the_scores_are_counted_and_warned_about() -> None:
    study = _study("d", _pairs(0.4, 200, seed=8, saw=50))
    assert study.contaminated_share == 0.25
    [warning] = study.warnings
    assert warning.kind is WarningKind.RATER_CONTAMINATION and "50 of 200" in warning.message


def test_an_r_of_point_six_or_more_is_called_implausible() -> None:
    study = _study("d", _pairs(0.8, 200, seed=9))
    assert study.r >= 0.6
    [warning] = study.warnings
    assert warning.kind is WarningKind.IMPLAUSIBLY_HIGH
    assert "0.4" in warning.message and "small sample" in warning.message
