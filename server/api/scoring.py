"""`POST /v1/interviews/{id}/score`: score an ended interview's stored turns on request and store the report.

For interviews that ended without a report (abandoned, or cut short by a crash), or to score again: each time a new
report version, the earlier ones kept (`GET /v1/interviews/{id}/reports`).
"""

from __future__ import annotations

from typing import Any

from litestar import post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK

from dialogue.scoring import score_session
from server.auth import role_guard, within_jobs
from server.db.status import ENDED, ReportSource
from server.db.store import Store, plan_from_json, report_to_json
from server.errors import conflict, errors, not_found
from server.people import RECRUITING, Principal, roles
from server.runtime import Runtime


@post(
    "/v1/interviews/{interview_id:str}/score",
    guards=[role_guard],
    opt=roles(RECRUITING),
    status_code=HTTP_200_OK,
    tags=["interviews"],
    responses=errors(401, 404, 409),
)
async def score_interview(
    interview_id: FromPath[str],
    store: NamedDependency[Store],
    runtime: NamedDependency[Runtime],
    principal: NamedDependency[Principal],
) -> dict[str, Any]:
    """Scores the stored transcript with this server's models; the report is the interview's next report version
    (what `GET .../report` answers from now on); earlier versions are kept, never overwritten."""
    row = await store.interview(interview_id)
    if row is None:
        raise not_found("interview", interview_id)
    within_jobs(principal, row.job_id, "interview", interview_id)
    if row.status not in ENDED:
        raise conflict(f"the interview is {row.status}; it can be scored once it is completed or abandoned")
    job = await store.job(row.job_id)
    if job is None:
        raise conflict(f"the interview's job {row.job_id!r} no longer exists; its plan is needed to score")
    plan = await store.interview_plan(row) or plan_from_json(job.plan)  # the version the interview ran
    models = runtime.interviewer_models(plan.language)
    report = await score_session(plan, await store.turns(interview_id), judge=models.answers, model_judge=models.judge)
    version = await store.save_report(interview_id, report, source=ReportSource.RESCORE)
    await store.audit(principal.actor, "interview_scored", interview_id, overall=report.overall, report_version=version)
    return report_to_json(report)
