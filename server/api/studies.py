"""`/v1/jobs/{id}/validity`, `/v1/jobs/{id}/weights/proposal` and `/v1/jobs/{id}/weights/approve`: how well each
dimension predicted the hires' performance, the weights the outcomes suggest with what they would change, and a
named person's approval of them, which makes the job's next plan version (old interviews keep theirs).

Nothing here changes a weight by itself: the proposal is recomputed at approval from the stored data, and only the
weights it proposes, sent back by a named person, are applied.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Annotated

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK
from msgspec import Meta, Struct

from hr.reweighting import MAX_STEP, NoProposal, WeightProposal, WeightSimulation
from server import hr_studies
from server.api.jobs import plan_out
from server.api.schemas import PlanOut
from server.auth import role_guard
from server.db.demographics import Demographics
from server.db.outcomes import JobResults, Outcomes
from server.db.status import JobStatus
from server.db.store import Store, plan_from_json
from server.db.tables import JobRow
from server.errors import bad_request, conflict, errors, not_found
from server.people import Principal
from server.route_audit import audited

# Weights are shown to 6 decimals (as plans are); an approval matches the proposal to within that rounding.
WEIGHT_TOLERANCE = 1e-6


class ValidityOut(Struct):
    job_id: str
    plan_version: int  # today's plan, whose dimensions are studied
    interviews: int  # with a readable report
    outcomes: int  # interviews whose hire has a performance outcome (the newest counts)
    unreadable_reports: int
    dimensions: list[hr_studies.DimensionValidity]


class ProposalOut(Struct):
    job_id: str
    plan_version: int
    current_weights: dict[str, float]
    proposed_weights: dict[str, float] | None  # what to send to .../weights/approve; None: no proposal
    proposal: WeightProposal | None
    simulation: WeightSimulation | None  # pass rate and bias audit under the current and the proposed weights
    no_proposal: NoProposal | None  # why there is none


class ApprovalIn(Struct):
    approved_by: Annotated[str, Meta(min_length=1, max_length=64)]  # the person deciding; kept in the audit log
    weights: dict[str, float]  # the proposal's `proposed_weights`, as shown


class ApprovalOut(Struct):
    job_id: str
    approved_by: str
    previous_version: int
    plan: PlanOut  # the new version


async def _job_data(store: Store, job_id: str) -> tuple[JobRow, JobResults]:
    job = await store.job(job_id)
    if job is None:
        raise not_found("job", job_id)
    if job.status == JobStatus.DRAFTING:
        raise conflict(f"job {job_id}'s plan is still being drafted; it has no interviews to study yet")
    return job, await Outcomes(store).scored_interviews(job_id)


async def _proposal(store: Store, job_id: str) -> tuple[JobRow, hr_studies.ProposalResult]:
    job, results = await _job_data(store, job_id)
    people = await Demographics(store).of(i.candidate_id for i in results.interviews)
    dimensions = plan_from_json(job.plan).dimensions
    return job, hr_studies.proposal(results.interviews, dimensions, people, job.pass_threshold)


def _rounded(weights: dict[str, float]) -> dict[str, float]:
    return {name: round(w, 6) for name, w in weights.items()}


@get(
    "/v1/jobs/{job_id:str}/validity",
    guards=[role_guard],
    opt=audited("validity_viewed"),
    tags=["studies"],
    responses=errors(401, 404, 409),
)
async def job_validity(job_id: FromPath[str], store: NamedDependency[Store]) -> ValidityOut:
    """Per dimension of today's plan: n, r, its 95 % interval (Fisher z), p, the range-restriction-corrected r
    beside it, the warnings (raters who saw the interview scores, a small sample, an implausibly high r), or the
    refusal with its reason (fewer than 30 outcomes, no spread)."""
    job, results = await _job_data(store, job_id)
    dimensions = plan_from_json(job.plan).dimensions
    return ValidityOut(
        job_id=job_id,
        plan_version=job.plan_version,
        interviews=len(results.interviews),
        outcomes=sum(i.outcome is not None for i in results.interviews),
        unreadable_reports=results.unreadable_reports,
        dimensions=hr_studies.validity(results.interviews, dimensions),
    )


@get(
    "/v1/jobs/{job_id:str}/weights/proposal",
    guards=[role_guard],
    opt=audited("weights_proposal_viewed"),
    tags=["studies"],
    responses=errors(401, 404, 409),
)
async def weights_proposal(job_id: FromPath[str], store: NamedDependency[Store]) -> ProposalOut:
    """The weights the outcomes suggest (ridge fit, shrunk toward today's, each step at most 0.10), and the pass
    rate and bias audit of the job's stored interviews under today's and the proposed weights; or, with
    `no_proposal`, why there is none (fewer than 30 outcomes, no significant fit, ...). Never applied by itself."""
    job, found = await _proposal(store, job_id)
    plan = plan_from_json(job.plan)
    return ProposalOut(
        job_id=job_id,
        plan_version=job.plan_version,
        current_weights=_rounded({d.name: d.weight for d in plan.dimensions}),
        proposed_weights=_rounded(found.proposal.proposed()) if found.proposal else None,
        proposal=found.proposal,
        simulation=found.simulation,
        no_proposal=found.no_proposal,
    )


@post(
    "/v1/jobs/{job_id:str}/weights/approve",
    guards=[role_guard],
    tags=["studies"],
    status_code=HTTP_200_OK,
    responses=errors(400, 401, 404, 409),
)
async def approve_weights(
    job_id: FromPath[str],
    data: JSONBody[ApprovalIn],
    store: NamedDependency[Store],
    principal: NamedDependency[Principal],
) -> ApprovalOut:
    """A named person approves the current proposal: its weights become the job's next plan version (the
    questions unchanged), recorded in the audit log with their name. Interviews already scheduled, and their
    reports, keep the version they had. 409 when there is no proposal (with the reason) or the weights sent are not
    the current proposal's (new outcomes may have changed it: look at it again)."""
    approver = data.approved_by.strip()
    if not approver:
        raise bad_request("approved_by: name the person approving the weights")
    if not all(math.isfinite(w) for w in data.weights.values()):
        raise bad_request("weights: every weight must be a finite number")
    job, found = await _proposal(store, job_id)
    if found.proposal is None:
        reason = found.no_proposal.message if found.no_proposal else "no proposal"
        raise conflict(f"there is no weight proposal to approve for job {job_id}: {reason}")
    proposed = found.proposal.proposed()
    if set(data.weights) != set(proposed):
        raise bad_request(
            f"weights: the proposal has dimensions {sorted(proposed)}, the approval names {sorted(data.weights)}"
        )
    off = [n for n, w in proposed.items() if abs(data.weights[n] - w) > WEIGHT_TOLERANCE]
    if off:
        raise conflict(
            f"weights for {', '.join(sorted(off))} are not the current proposal's {_rounded(proposed)}; "
            f"GET /v1/jobs/{job_id}/weights/proposal and approve what it shows"
        )
    plan = plan_from_json(job.plan)
    reweighted = replace(plan, dimensions=tuple(replace(d, weight=proposed[d.name]) for d in plan.dimensions))
    note = (
        f"weight proposal approved by {approver} (n = {found.proposal.n}, p = {found.proposal.p_value:.3g}, "
        f"steps of at most {MAX_STEP:.2f})"
    )
    version = await store.set_job_plan(job_id, reweighted, source="hr", note=note)
    await store.audit(
        principal.actor,
        "weights_approved",
        None,
        job_id=job_id,
        version=version,
        previous_version=job.plan_version,
        approved_by=approver,
        weights=_rounded(proposed),
        n=found.proposal.n,
        p_value=found.proposal.p_value,
    )
    return ApprovalOut(job_id, approver, job.plan_version, plan_out(reweighted, version, "hr", note))
