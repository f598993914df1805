"""HR's studies of a job from stored data: the validity study per dimension, the weight proposal with its replay
under old and new weights, and the bias audit; the statistics are `hr/`'s, this module only gathers their inputs.

Inputs are the interviews' current reports (server.db.outcomes), each hire's newest performance outcome, and the
self-identification kept apart (server.db.demographics), so every figure can be recomputed from the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dialogue.plan import Dimension
from hr.bias_audit import AuditRecord, BiasAudit, bias_audit
from hr.reweighting import (
    HireOutcome,
    NoProposal,
    StoredInterview,
    WeightProposal,
    WeightSimulation,
    propose_weights,
    simulate_weights,
)
from hr.validity import OutcomePair, StudyRefusal, ValidityStudy, validity_study
from server.db.demographics import SelfIdentification
from server.db.outcomes import ScoredInterview


@dataclass(frozen=True, slots=True)
class DimensionValidity:
    """One dimension's study, or the reason there is none (exactly one of the two is set)."""

    dimension: str
    study: ValidityStudy | None
    refusal: StudyRefusal | None


@dataclass(frozen=True, slots=True)
class ProposalResult:
    """A proposal with what it would change on the stored interviews, or the reason there is none."""

    proposal: WeightProposal | None
    simulation: WeightSimulation | None
    no_proposal: NoProposal | None


def _pool_sd(interviews: Sequence[ScoredInterview], dimension: str) -> float | None:
    """The SD of the dimension's scores over everyone interviewed (the applicant pool), for the range-restriction
    correction; None with fewer than two scores or none spread."""
    scores = [i.dimension_scores[dimension] for i in interviews if dimension in i.dimension_scores]
    sd = float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0
    return sd or None


def validity(interviews: Sequence[ScoredInterview], dimensions: Sequence[Dimension]) -> list[DimensionValidity]:
    """Per dimension of today's plan: its interview scores against the hires' newest performance outcomes."""
    found = []
    for d in dimensions:
        pairs = [
            OutcomePair(i.dimension_scores[d.name], i.outcome.score, i.outcome.rater_saw_interview_scores)
            for i in interviews
            if i.outcome is not None and d.name in i.dimension_scores
        ]
        result = validity_study(d.name, pairs, _pool_sd(interviews, d.name))
        if isinstance(result, ValidityStudy):
            found.append(DimensionValidity(d.name, result, None))
        else:
            found.append(DimensionValidity(d.name, None, result))
    return found


def _identity(people: Mapping[str, SelfIdentification], candidate_id: str) -> tuple[str | None, str | None]:
    """(sex, race/ethnicity) for the audit: None where the candidate never answered or declined."""
    answered = people.get(candidate_id)
    return answered.for_audit() if answered else (None, None)


def _stored(interviews: Sequence[ScoredInterview], people: Mapping[str, SelfIdentification]) -> list[StoredInterview]:
    return [StoredInterview(i.dimension_scores, *_identity(people, i.candidate_id)) for i in interviews]


def proposal(
    interviews: Sequence[ScoredInterview],
    dimensions: Sequence[Dimension],
    people: Mapping[str, SelfIdentification],
    pass_threshold: float,
) -> ProposalResult:
    """The weight proposal from the hires' outcomes, replayed over every stored interview of the job."""
    hires = [HireOutcome(i.dimension_scores, i.outcome.score) for i in interviews if i.outcome is not None]
    found = propose_weights(dimensions, hires)
    if isinstance(found, NoProposal):
        return ProposalResult(None, None, found)
    return ProposalResult(found, simulate_weights(_stored(interviews, people), dimensions, found, pass_threshold), None)


def audit(
    interviews: Sequence[ScoredInterview],
    people: Mapping[str, SelfIdentification],
    exclusion_justification: str | None = None,
) -> BiasAudit:
    """The bias audit of the interviews as their reports recommended and scored them."""
    records = [
        AuditRecord(i.recommendation, i.overall, i.dimension_scores, *_identity(people, i.candidate_id))
        for i in interviews
    ]
    return bias_audit(records, exclusion_justification=exclusion_justification)
