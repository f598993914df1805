"""`/v1/jobs`: a job requisition becomes an interview plan, drafted by the planner model where the body leaves the
questions out; HR edits it into new versions.

A job posted without dimensions and questions is answered at once in state `drafting` (its plan field holds the
rule-based stand-in, version 0) and turns `ready` when the model's plan is stored as version 1: a draft takes tens
of seconds on a small CPU, too long to hold a request open. Interviews can be scheduled once the job is ready;
each one is pinned to the version current then, and every edit (`PUT /v1/jobs/{id}/plan`) adds a version.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from dialogue.plan import (
    DEFAULT_PASS_THRESHOLD,
    DimensionSpec,
    InterviewPlan,
    PlanError,
    QuestionSpec,
    Requisition,
    build_plan,
)
from server.api.schemas import DimensionIn, DimensionOut, JobIn, JobOut, PlanIn, PlanOut, QuestionOut
from server.auth import role_guard, within_jobs
from server.db.people import SqlPeople
from server.db.status import JobStatus
from server.db.store import Store, plan_from_json, plan_to_json
from server.db.tables import JobRow, PlanVersionRow
from server.errors import bad_request, conflict, errors, not_found
from server.people import RECRUITING, Principal, roles
from server.planning import Drafts, draft_job_plan
from server.route_audit import audited
from server.runtime import Runtime
from server.settings import Settings


def plan_out(plan: InterviewPlan, version: int, source: str = "", note: str | None = None) -> PlanOut:
    return PlanOut(
        dimensions=[DimensionOut(d.name, round(d.weight, 6), d.reason) for d in plan.dimensions],
        questions=[QuestionOut(q.id, q.text, q.dimension) for q in plan.questions],
        version=version,
        source=source,
        note=note,
    )


def job_out(row: JobRow, version: PlanVersionRow | None) -> JobOut:
    plan = plan_from_json(row.plan)
    return JobOut(
        id=row.id,
        title=row.title,
        description=row.description,
        requirements=list(row.requirements),
        language=row.language,
        pass_threshold=row.pass_threshold,
        plan=plan_out(plan, row.plan_version, version.source if version else "", version.note if version else None),
        created_at=row.created_at,
        status=JobStatus(row.status),
        resume_probes=row.resume_probes,
    )


def _dimensions(given: list[DimensionIn] | None) -> tuple[DimensionSpec, ...] | None:
    return None if given is None else tuple(DimensionSpec(d.name, d.weight, d.reason) for d in given)


def requisition(body: JobIn) -> Requisition:
    return Requisition(
        title=body.title,
        description=body.description,
        requirements=tuple(body.requirements),
        language=body.language,
        dimensions=_dimensions(body.dimensions),
        questions=None if body.questions is None else tuple(QuestionSpec(q.text, q.dimension) for q in body.questions),
        pass_threshold=DEFAULT_PASS_THRESHOLD if body.pass_threshold is None else body.pass_threshold,
    )


async def _job(store: Store, job_id: str) -> JobRow:
    row = await store.job(job_id)
    if row is None:
        raise not_found("job", job_id)
    return row


class JobController(Controller):
    path = "/v1/jobs"
    guards = [role_guard]  # noqa: RUF012  (Litestar reads guards as a class attribute)
    opt = roles(RECRUITING)
    tags = ["jobs"]  # noqa: RUF012

    @post(responses=errors(400, 401))
    async def create_job(
        self,
        data: JSONBody[JobIn],
        store: NamedDependency[Store],
        settings: NamedDependency[Settings],
        runtime: NamedDependency[Runtime],
        drafts: NamedDependency[Drafts],
        principal: NamedDependency[Principal],
        people: NamedDependency[SqlPeople],
    ) -> JobOut:
        """Without dimensions and questions, the planner model drafts the plan: the job comes back `drafting`
        and turns `ready` (poll `GET /v1/jobs/{id}`) with the model's plan as version 1."""
        req = requisition(data)
        try:
            plan = build_plan(req)  # the rule-based plan: the stand-in while drafting, and checks the body
        except PlanError as exc:
            raise bad_request(str(exc)) from None
        drafting = (
            data.dimensions is None
            and data.questions is None
            and settings.plan_model != "none"
            and runtime.planner is not None
        )
        row = JobRow(
            id=uuid.uuid4().hex,
            title=plan.title,
            description=data.description,
            requirements=list(plan.requirements),
            language=plan.language,
            pass_threshold=plan.pass_threshold,
            plan=plan_to_json(plan),
            status=JobStatus.DRAFTING if drafting else JobStatus.READY,
            plan_version=0 if drafting else 1,
            resume_probes=data.resume_probes,
        )
        source = "hr" if data.questions is not None else "rules"
        await store.add_job(row, source=source)
        if principal.jobs is not None:  # a recruiter limited to jobs keeps seeing the job they made
            await people.grant_job(principal.id, row.id)
        if drafting and runtime.planner is not None:
            drafts.start(draft_job_plan(store, runtime.planner, row.id, req), f"drafting job {row.id}")
        await store.audit(principal.actor, "job_created", None, job_id=row.id, drafting=drafting)
        stored = await store.job(row.id) or row
        return job_out(stored, await store.plan_version(row.id, stored.plan_version))

    @get(opt=audited("jobs_listed"), responses=errors(401))
    async def list_jobs(self, store: NamedDependency[Store], principal: NamedDependency[Principal]) -> list[JobOut]:
        return [job_out(r, None) for r in await store.jobs() if principal.sees(r.id)]

    @get("/{job_id:str}", opt=audited("job_viewed"), responses=errors(401, 404))
    async def get_job(
        self, job_id: FromPath[str], store: NamedDependency[Store], principal: NamedDependency[Principal]
    ) -> JobOut:
        within_jobs(principal, job_id, "job", job_id)
        row = await _job(store, job_id)
        return job_out(row, await store.plan_version(job_id, row.plan_version))

    @put("/{job_id:str}/plan", responses=errors(400, 401, 404, 409))
    async def edit_plan(
        self,
        job_id: FromPath[str],
        data: JSONBody[PlanIn],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> JobOut:
        """HR's plan becomes the job's next version; interviews already scheduled keep the version they have."""
        within_jobs(principal, job_id, "job", job_id)
        row = await _job(store, job_id)
        if row.status == JobStatus.DRAFTING:
            raise conflict(f"job {job_id}'s plan is still being drafted; edit it once GET /v1/jobs/{job_id} is ready")
        current = plan_from_json(row.plan)
        dimensions = _dimensions(data.dimensions) or tuple(
            DimensionSpec(d.name, d.weight, d.reason) for d in current.dimensions
        )
        try:
            plan = build_plan(
                Requisition(
                    title=row.title,
                    description=row.description,
                    requirements=tuple(row.requirements),
                    language=current.language,
                    dimensions=dimensions,
                    questions=tuple(QuestionSpec(q.text, q.dimension) for q in data.questions),
                    pass_threshold=row.pass_threshold,
                )
            )
        except PlanError as exc:
            raise bad_request(str(exc)) from None
        version = await store.set_job_plan(job_id, plan, source="hr")
        await store.audit(principal.actor, "plan_edited", None, job_id=job_id, version=version)
        return job_out(await _job(store, job_id), await store.plan_version(job_id, version))

    @get("/{job_id:str}/plan/{version:int}", opt=audited("plan_version_viewed"), responses=errors(400, 401, 404))
    async def get_plan_version(
        self,
        job_id: FromPath[str],
        # A version is a database integer: a larger number names none (and must not reach the database).
        version: Annotated[int, Parameter(ge=0, le=2**31 - 1)],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> PlanOut:
        """Any version of the job's plan, as the interviews pinned to it run it."""
        within_jobs(principal, job_id, "plan version", f"{job_id}/{version}")
        found = await store.plan_version(job_id, version)
        if found is None:
            raise not_found("plan version", f"{job_id}/{version}")
        return plan_out(plan_from_json(found.plan), found.version, found.source, found.note)
