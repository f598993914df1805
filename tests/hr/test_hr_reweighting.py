"""hr.reweighting: proposals learned from outcomes of known structure, the shrinkage and the per-step cap, the
refusals, and the replay of stored interviews under both weightings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogue.plan import Dimension
from hr.bias_audit import Axis
from hr.reweighting import (
    MAX_STEP,
    HireOutcome,
    NoProposal,
    NoProposalReason,
    StoredInterview,
    WeightChange,
    WeightProposal,
    capped_step,
    propose_weights,
    simulate_weights,
)

THREE = (Dimension("sql", 1 / 3), Dimension("design", 1 / 3), Dimension("communication", 1 / 3))


def _outcomes(effects: dict[str, float], n: int, seed: int) -> list[HireOutcome]:
    """n hires with independent dimension scores (0-10 scale); performance = Σ effect × z-score + unit noise."""
    rng = np.random.default_rng(seed)
    z = {name: rng.standard_normal(n) for name in effects}
    noise = rng.standard_normal(n)
    return [
        HireOutcome(
            {name: 6 + 1.5 * z[name][i] for name in effects},
            3 + sum(effect * z[name][i] for name, effect in effects.items()) + noise[i],
        )
        for i in range(n)
    ]


def _proposal(current: tuple[Dimension, ...], outcomes: list[HireOutcome]) -> WeightProposal:
    proposal = propose_weights(current, outcomes)
    assert isinstance(proposal, WeightProposal), proposal
    return proposal


def _moves(proposal: WeightProposal) -> dict[str, float]:
    return {c.dimension: c.proposed - c.current for c in proposal.changes}


def test_the_dimension_that_predicts_performance_gains_weight_within_the_cap() -> None:
    proposal = _proposal(THREE, _outcomes({"sql": 0.6, "design": 0.0, "communication": 0.0}, 300, seed=1))
    moves = _moves(proposal)
    assert moves["sql"] == pytest.approx(MAX_STEP)  # the data ask for far more; the cap holds it to 0.10
    assert moves["design"] < 0 and moves["communication"] < 0
    assert all(abs(m) <= MAX_STEP + 1e-12 for m in moves.values())
    assert sum(proposal.proposed().values()) == pytest.approx(1.0, abs=1e-12)
    assert next(c for c in proposal.changes if c.dimension == "sql").capped
    assert proposal.n == 300 and proposal.data_share == pytest.approx(0.75) and proposal.p_value < 1e-6


def test_the_fit_is_shrunk_toward_todays_weights_by_n_over_n_plus_100() -> None:
    current = (Dimension("sql", 0.5), Dimension("design", 0.5))
    proposal = _proposal(current, _outcomes({"sql": 0.45, "design": 0.35}, 100, seed=2))
    assert proposal.data_share == 0.5
    for change in proposal.changes:
        assert not change.capped
        assert change.target == pytest.approx(0.5 * change.fitted + 0.5 * change.current)
        assert change.proposed == pytest.approx(change.target)
    fitted = {c.dimension: c.fitted for c in proposal.changes}
    assert fitted["sql"] > fitted["design"] > 0


def test_a_dimension_that_predicts_against_performance_is_fitted_at_zero() -> None:
    proposal = _proposal(THREE, _outcomes({"sql": 0.6, "design": -0.4, "communication": 0.3}, 400, seed=3))
    fitted = {c.dimension: c.fitted for c in proposal.changes}
    assert fitted["design"] == 0.0
    assert sum(fitted.values()) == pytest.approx(1.0)
    assert all(c.proposed > 0 for c in proposal.changes)  # shrinkage keeps every weight a plan can accept


def test_twelve_outcomes_are_refused() -> None:
    refusal = propose_weights(THREE, _outcomes({"sql": 2.0, "design": 0.0, "communication": 0.0}, 12, seed=4))
    assert isinstance(refusal, NoProposal)
    assert refusal.reason is NoProposalReason.TOO_FEW_OUTCOMES and refusal.n == 12
    assert "30" in refusal.message


def test_hires_without_every_dimension_scored_do_not_count() -> None:
    outcomes = _outcomes({"sql": 1.0, "design": 0.0, "communication": 0.0}, 40, seed=5)
    outcomes[:15] = [HireOutcome({"sql": o.dimension_scores["sql"]}, o.performance) for o in outcomes[:15]]
    refusal = propose_weights(THREE, outcomes)
    assert isinstance(refusal, NoProposal) and refusal.n == 25


def test_scores_that_do_not_predict_performance_are_refused_with_their_p_value() -> None:
    refusal = propose_weights(THREE, _outcomes({"sql": 0.0, "design": 0.0, "communication": 0.0}, 200, seed=6))
    assert isinstance(refusal, NoProposal)
    assert refusal.reason is NoProposalReason.NOT_SIGNIFICANT
    assert refusal.p_value is not None and refusal.p_value >= 0.05
    assert f"p = {refusal.p_value:.3f}" in refusal.message


def test_capped_step_on_a_hand_computed_case() -> None:
    # Clipped moves -0.10, +0.05, +0.10: rises 0.15 against falls 0.10, so the rises are scaled by 2/3.
    step = capped_step(np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.35, 0.45]))
    assert step == pytest.approx([0.4, 0.3 + 0.05 * 2 / 3, 0.2 + 0.1 * 2 / 3])


_simplex = st.lists(st.floats(0.01, 1.0), min_size=2, max_size=8)


@settings(max_examples=300, deadline=None)
@given(_simplex, st.data())
def test_capped_step_keeps_the_sum_the_cap_and_each_moves_direction(raw: list[float], data: st.DataObject) -> None:
    current = np.array(raw) / sum(raw)
    other = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=len(raw), max_size=len(raw))))
    target = other / other.sum() if other.sum() > 0 else current
    new = capped_step(current, target)
    move, asked = new - current, target - current
    assert new.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(new >= 0)
    assert np.all(np.abs(move) <= MAX_STEP + 1e-12)
    assert np.all(move * asked >= 0)  # no rise the data asked for becomes a fall, nor the other way
    assert np.all(np.abs(move) <= np.abs(asked) + 1e-12)  # and none goes past the target
    clipped = np.clip(asked, -MAX_STEP, MAX_STEP)
    # As far as the cap allows: the smaller of the clipped rises and falls is used in full.
    assert np.abs(move).sum() == pytest.approx(2 * min(clipped[clipped > 0].sum(), -clipped[clipped < 0].sum()))


def test_simulation_shows_pass_rates_and_impact_ratios_under_both_weightings() -> None:
    current = (Dimension("sql", 0.5), Dimension("design", 0.5))
    proposal = WeightProposal(
        100,
        0.2,
        0.001,
        0.5,
        (WeightChange("sql", 0.5, 0.7, 0.6, 0.6, False), WeightChange("design", 0.5, 0.3, 0.4, 0.4, False)),
    )
    # Women here score 8 on sql and 4 on design, men the reverse: 6.0 for all today; 6.4 and 5.6 proposed.
    interviews = [StoredInterview({"sql": 8.0, "design": 4.0}, "Female", "Asian") for _ in range(10)]
    interviews += [StoredInterview({"sql": 4.0, "design": 8.0}, "Male", "Asian") for _ in range(10)]
    simulation = simulate_weights(interviews, current, proposal, pass_threshold=6.0)
    assert (simulation.current.passed, simulation.current.pass_rate) == (20, 1.0)
    assert (simulation.proposed.passed, simulation.proposed.pass_rate) == (10, 0.5)

    def ratios(measure: str, which: str) -> dict[str, float | None]:
        audit = getattr(simulation, which).audit
        return {g.category: g.impact_ratio for g in audit.table(measure, Axis.SEX).groups}

    assert ratios("advance", "current") == {"Female": 1.0, "Male": 1.0}
    assert ratios("advance", "proposed") == {"Female": 1.0, "Male": 0.0}
    assert ratios("advance_or_hold", "proposed") == {"Female": 1.0, "Male": 1.0}  # 5.6 is within the hold margin
