"""The validity study of one interview dimension: how well its scores predicted the hires' later performance.

Pearson r with its Fisher-z 95 % interval and p-value, a range-restriction-corrected estimate shown beside r, and
the warnings HR needs before trusting the figure; too few outcomes give a typed refusal that says why.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

# Below this many outcomes the 95 % interval of r is wider than ±0.35 around 0: no study, a refusal. The same floor
# as the weight proposals (hr.reweighting), so HR meets one number.
MIN_OUTCOMES = 30
# Below this many the interval is still wider than ±0.28 around 0: reported, with a warning.
SMALL_SAMPLE = 50
# Meta-analyses put structured interviews' validity at about 0.4; a correlation this high is more often a rater
# who saw the interview scores, or a small sample, than a better interview.
IMPLAUSIBLY_HIGH_R = 0.6
CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class OutcomePair:
    """One hire: the interview's score on the dimension, their performance score, and whether whoever rated their
    performance could see the interview scores (which makes the two agree for the wrong reason)."""

    interview_score: float
    performance: float
    rater_saw_interview_scores: bool


class WarningKind(enum.Enum):
    RATER_CONTAMINATION = "rater_contamination"
    SMALL_SAMPLE = "small_sample"
    IMPLAUSIBLY_HIGH = "implausibly_high"


@dataclass(frozen=True, slots=True)
class StudyWarning:
    kind: WarningKind
    message: str


@dataclass(frozen=True, slots=True)
class ValidityStudy:
    dimension: str
    n: int
    r: float
    ci_low: float
    ci_high: float
    p_value: float  # two-sided, against no correlation
    corrected_r: float | None  # Thorndike Case II for range restriction; beside r, never instead of it
    contaminated_share: float  # share of outcomes whose rater saw the interview scores
    warnings: tuple[StudyWarning, ...]


class RefusalReason(enum.Enum):
    TOO_FEW_OUTCOMES = "too_few_outcomes"
    NO_SPREAD = "no_spread"


@dataclass(frozen=True, slots=True)
class StudyRefusal:
    dimension: str
    n: int
    reason: RefusalReason
    message: str


def fisher_z_interval(r: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """r's interval from the normal approximation of atanh(r), whose standard error is 1/sqrt(n - 3)."""
    half = stats.norm.ppf(0.5 + confidence / 2) / math.sqrt(n - 3)
    z = math.atanh(max(min(r, 1 - 1e-15), -1 + 1e-15))  # r of exactly ±1 would put the interval at infinity
    return math.tanh(z - half), math.tanh(z + half)


def correct_range_restriction(r: float, applicant_sd: float, hired_sd: float) -> float:
    """Thorndike's Case II: the correlation in the applicant pool, from the one among hires selected on the score.

    Hires are chosen for high interview scores, so their scores spread less than the pool's and r understates how
    well the score separates applicants; u = pool SD / hired SD undoes that under direct selection on the score."""
    u = applicant_sd / hired_sd
    return r * u / math.sqrt(1 + r * r * (u * u - 1))


def _warnings(n: int, r: float, contaminated: int) -> tuple[StudyWarning, ...]:
    found = []
    if contaminated:
        found.append(
            StudyWarning(
                WarningKind.RATER_CONTAMINATION,
                f"{contaminated} of {n} performance ratings ({contaminated / n:.0%}) were made by raters who could "
                "see the interview scores; those ratings may echo the interview rather than test it.",
            )
        )
    if n < SMALL_SAMPLE:
        found.append(
            StudyWarning(
                WarningKind.SMALL_SAMPLE,
                f"Only {n} outcomes: the 95 % interval is wide; read r as a rough direction, not a figure.",
            )
        )
    if r >= IMPLAUSIBLY_HIGH_R:
        found.append(
            StudyWarning(
                WarningKind.IMPLAUSIBLY_HIGH,
                f"r = {r:.2f} is well above the ≈0.4 that meta-analyses report for structured interviews; it more "
                "likely reflects raters who knew the interview scores, or a small sample, than a better interview.",
            )
        )
    return tuple(found)


def validity_study(
    dimension: str, pairs: Sequence[OutcomePair], applicant_sd: float | None = None
) -> ValidityStudy | StudyRefusal:
    """The study of one dimension over its hires; `applicant_sd` is the SD of that dimension's interview scores
    over everyone interviewed for the job (the pool), without which no corrected estimate is given."""
    n = len(pairs)
    if n < MIN_OUTCOMES:
        return StudyRefusal(
            dimension,
            n,
            RefusalReason.TOO_FEW_OUTCOMES,
            f"{n} performance outcomes; a study needs at least {MIN_OUTCOMES}, below which r's 95 % interval is "
            "too wide to say anything.",
        )
    scores = np.array([p.interview_score for p in pairs], dtype=float)
    performance = np.array([p.performance for p in pairs], dtype=float)
    if np.ptp(scores) == 0 or np.ptp(performance) == 0:
        return StudyRefusal(
            dimension,
            n,
            RefusalReason.NO_SPREAD,
            "every hire has the same interview score or the same performance score; a correlation needs both to vary.",
        )
    result = stats.pearsonr(scores, performance)
    r = float(result.statistic)
    low, high = fisher_z_interval(r, n)
    hired_sd = float(np.std(scores, ddof=1))
    corrected = correct_range_restriction(r, applicant_sd, hired_sd) if applicant_sd else None
    contaminated = sum(p.rater_saw_interview_scores for p in pairs)
    return ValidityStudy(
        dimension=dimension,
        n=n,
        r=r,
        ci_low=low,
        ci_high=high,
        p_value=float(result.pvalue),
        corrected_r=corrected,
        contaminated_share=contaminated / n,
        warnings=_warnings(n, r, contaminated),
    )
