"""`/v1/jobs`: a job requisition becomes an interview plan, generated where the body leaves it out."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from dialogue.plan import (
    DEFAULT_PASS_THRESHOLD,
    DimensionSpec,
    PlanError,
    QuestionSpec,
    Requisition,
    build_plan,
)
from server.api.schemas import DimensionOut, JobIn, JobOut, PlanOut, QuestionOut
from server.auth import hr_guard
from server.db.store import Store, plan_from_json, plan_to_json
from server.db.tables import JobRow
from server.errors import bad_request, not_found


def job_out(row: JobRow) -> JobOut:
    plan = plan_from_json(row.plan)
    return JobOut(
        id=row.id,
        title=row.title,
        description=row.description,
        requirements=list(row.requirements),
        language=row.language,
        pass_threshold=row.pass_threshold,
        plan=PlanOut(
            dimensions=[DimensionOut(d.name, round(d.weight, 6)) for d in plan.dimensions],
            questions=[QuestionOut(q.id, q.text, q.dimension) for q in plan.questions],
        ),
        created_at=row.created_at,
    )


def requisition(body: JobIn) -> Requisition:
    return Requisition(
        title=body.title,
        description=body.description,
        requirements=tuple(body.requirements),
        language=body.language,
        dimensions=None if body.dimensions is None else tuple(DimensionSpec(d.name, d.weight) for d in body.dimensions),
        questions=None if body.questions is None else tuple(QuestionSpec(q.text, q.dimension) for q in body.questions),
        pass_threshold=DEFAULT_PASS_THRESHOLD if body.pass_threshold is None else body.pass_threshold,
    )


class JobController(Controller):
    path = "/v1/jobs"
    guards = [hr_guard]  # noqa: RUF012  (Litestar reads guards as a class attribute)
    tags = ["jobs"]  # noqa: RUF012

    @post()
    async def create_job(self, data: JSONBody[JobIn], store: NamedDependency[Store]) -> JobOut:
        try:
            plan = build_plan(requisition(data))
        except PlanError as exc:
            raise bad_request(str(exc)) from None
        row = JobRow(
            id=uuid.uuid4().hex,
            title=plan.title,
            description=data.description,
            requirements=list(plan.requirements),
            language=plan.language,
            pass_threshold=plan.pass_threshold,
            plan=plan_to_json(plan),
        )
        await store.add_job(row)
        return job_out(await store.job(row.id) or row)

    @get()
    async def list_jobs(self, store: NamedDependency[Store]) -> list[JobOut]:
        return [job_out(r) for r in await store.jobs()]

    @get("/{job_id:str}")
    async def get_job(self, job_id: FromPath[str], store: NamedDependency[Store]) -> JobOut:
        row = await store.job(job_id)
        if row is None:
            raise not_found("job", job_id)
        return job_out(row)
