"""Weight proposals from performance outcomes, and what they would change: never applied by themselves.

A ridge fit of standardised performance on standardised dimension scores, negatives dropped, shrunk toward today's
weights and capped per step; too few outcomes or no significant fit give a typed refusal. `simulate_weights`
replays stored interviews under both weightings: pass rates and the bias audit's impact ratios side by side.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from dialogue.plan import Dimension
from dialogue.report import Recommendation, overall_score, recommend
from hr.bias_audit import AuditRecord, BiasAudit, bias_audit

MIN_OUTCOMES = 30
MAX_P_VALUE = 0.05
# The data's share against today's weights is n / (n + PRIOR_OUTCOMES): 100 outcomes count as much as the weights
# HR chose by judgement, so a first study moves them only part of the way.
PRIOR_OUTCOMES = 100
MAX_STEP = 0.10
# On the correlation scale: enough to keep two dimensions that one interview scores alike from trading weight on
# noise, small beside the diagonal's 1.
RIDGE_PENALTY = 0.1


@dataclass(frozen=True, slots=True)
class HireOutcome:
    dimension_scores: Mapping[str, float]  # the interview's scored dimensions; a hire missing one is left out
    performance: float


@dataclass(frozen=True, slots=True)
class WeightChange:
    dimension: str
    current: float
    fitted: float  # what the data alone say: ridge coefficient, negatives as 0, normalised
    target: float  # fitted shrunk toward current by the data's share
    proposed: float  # target reached as far as the per-step cap allows
    capped: bool  # the step toward target was longer than MAX_STEP


@dataclass(frozen=True, slots=True)
class WeightProposal:
    n: int
    r_squared: float  # of the least-squares fit the significance test is on
    p_value: float  # the overall F-test: do the dimension scores together predict performance at all
    data_share: float  # n / (n + 100)
    changes: tuple[WeightChange, ...]

    def proposed(self) -> dict[str, float]:
        return {c.dimension: c.proposed for c in self.changes}


class NoProposalReason(enum.Enum):
    TOO_FEW_OUTCOMES = "too_few_outcomes"
    NO_SPREAD = "no_spread"
    NOT_SIGNIFICANT = "not_significant"
    NO_POSITIVE_PREDICTOR = "no_positive_predictor"


@dataclass(frozen=True, slots=True)
class NoProposal:
    reason: NoProposalReason
    n: int
    p_value: float | None
    message: str


def _standardise(columns: np.ndarray) -> np.ndarray:
    """Columns as z-scores; a column that never varies becomes zeros, since it can predict nothing."""
    sd = columns.std(axis=0, ddof=1)
    return np.divide(columns - columns.mean(axis=0), sd, out=np.zeros_like(columns), where=sd > 0)


def _f_test(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """R² and p of the overall F-test of least squares on the varying columns. Ridge has no exact test of its
    own; the unpenalised fit answers the question asked: is there any signal at all."""
    varying = z[:, np.any(z != 0, axis=0)]
    design = np.column_stack([np.ones(len(y)), varying])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coefficients
    r_squared = 1 - float(residual @ residual) / float(y @ y)
    k, df = varying.shape[1], len(y) - varying.shape[1] - 1
    if k == 0 or df <= 0:
        return r_squared, 1.0
    if r_squared >= 1:
        return 1.0, 0.0
    f = (r_squared / k) / ((1 - r_squared) / df)
    return r_squared, float(stats.f.sf(f, k, df))


def _ridge(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    n = len(y)
    correlations = z.T @ z / (n - 1)
    return np.linalg.solve(correlations + RIDGE_PENALTY * np.eye(z.shape[1]), z.T @ y / (n - 1))


def capped_step(current: np.ndarray, target: np.ndarray, max_step: float = MAX_STEP) -> np.ndarray:
    """Weights that move from `current` toward `target` (both summing to 1) by at most `max_step` each.

    Clipping each move can leave the rises and the falls unequal, so the weights would no longer sum to 1. Rather
    than renormalising (which would break the cap) or shifting every move by one amount (which can turn a rise
    the data asked for into a fall), the larger side is scaled down until the two balance: every move keeps its
    direction, none exceeds the cap, and no weight falls below zero or further than the target asked."""
    step = np.clip(target - current, -max_step, max_step)
    rises, falls = step[step > 0].sum(), -step[step < 0].sum()
    if rises > falls:
        step[step > 0] *= falls / rises
    elif falls > rises:
        step[step < 0] *= rises / falls
    return current + step


def propose_weights(current: Sequence[Dimension], outcomes: Sequence[HireOutcome]) -> WeightProposal | NoProposal:
    """A proposal for HR to approve or not, or the reason there is none."""
    names = [d.name for d in current]
    complete = [o for o in outcomes if all(name in o.dimension_scores for name in names)]
    n = len(complete)
    if n < MIN_OUTCOMES:
        return NoProposal(
            NoProposalReason.TOO_FEW_OUTCOMES,
            n,
            None,
            f"{n} hires have performance outcomes and every dimension scored; a proposal needs at least "
            f"{MIN_OUTCOMES}.",
        )
    performance = np.array([o.performance for o in complete], dtype=float)
    if np.ptp(performance) == 0:
        return NoProposal(
            NoProposalReason.NO_SPREAD, n, None, "every hire has the same performance score: nothing to learn from."
        )
    z = _standardise(np.array([[o.dimension_scores[name] for name in names] for o in complete], dtype=float))
    y = _standardise(performance[:, None])[:, 0]
    r_squared, p_value = _f_test(z, y)
    if p_value >= MAX_P_VALUE:
        return NoProposal(
            NoProposalReason.NOT_SIGNIFICANT,
            n,
            p_value,
            f"the dimension scores do not predict performance beyond chance (p = {p_value:.3f}, needs < "
            f"{MAX_P_VALUE}); today's weights stay.",
        )
    positive = np.clip(_ridge(z, y), 0, None)
    if positive.sum() == 0:
        return NoProposal(
            NoProposalReason.NO_POSITIVE_PREDICTOR,
            n,
            p_value,
            "no dimension's score rises with performance; weights cannot be learned from these outcomes.",
        )
    fitted = positive / positive.sum()
    today = np.array([d.weight for d in current], dtype=float)
    today = today / today.sum()
    data_share = n / (n + PRIOR_OUTCOMES)
    target = data_share * fitted + (1 - data_share) * today
    proposed = capped_step(today, target)
    changes = tuple(
        WeightChange(name, float(w0), float(f), float(t), float(w1), bool(abs(t - w0) > MAX_STEP))
        for name, w0, f, t, w1 in zip(names, today, fitted, target, proposed, strict=True)
    )
    return WeightProposal(n, r_squared, p_value, data_share, changes)


@dataclass(frozen=True, slots=True)
class StoredInterview:
    """A finished interview's scored dimensions and, joined from the separate form, its self-identification."""

    dimension_scores: Mapping[str, float]
    sex: str | None
    race_ethnicity: str | None


@dataclass(frozen=True, slots=True)
class SimulatedOutcomes:
    interviews: int
    passed: int  # would be recommended to advance
    pass_rate: float
    audit: BiasAudit


@dataclass(frozen=True, slots=True)
class WeightSimulation:
    pass_threshold: float
    current: SimulatedOutcomes
    proposed: SimulatedOutcomes


def _replay(
    interviews: Sequence[StoredInterview], weights: Mapping[str, float], pass_threshold: float
) -> SimulatedOutcomes:
    records = []
    for interview in interviews:
        overall = overall_score(interview.dimension_scores, weights)
        records.append(
            AuditRecord(
                recommend(overall, pass_threshold),
                overall,
                interview.dimension_scores,
                interview.sex,
                interview.race_ethnicity,
            )
        )
    passed = sum(r.recommendation is Recommendation.ADVANCE for r in records)
    return SimulatedOutcomes(len(records), passed, passed / len(records) if records else 0.0, bias_audit(records))


def simulate_weights(
    interviews: Sequence[StoredInterview],
    current: Sequence[Dimension],
    proposal: WeightProposal,
    pass_threshold: float,
) -> WeightSimulation:
    """Stored interviews replayed under today's and the proposed weights: who would advance, and the audit."""
    return WeightSimulation(
        pass_threshold,
        _replay(interviews, {d.name: d.weight for d in current}, pass_threshold),
        _replay(interviews, proposal.proposed(), pass_threshold),
    )
