"""`GET /v1/jobs/{id}/scores`: every scored interview of a job, its overall and per-dimension scores with its hire's
newest performance outcome: the points behind the dashboard's score distribution and validity scatter, read from
the same stored reports and outcomes as the studies, so each point can be traced to its interview."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath
from msgspec import Struct

from dialogue.report import Recommendation
from server.auth import role_guard
from server.db.outcomes import Outcomes
from server.db.store import Store
from server.errors import errors, not_found
from server.route_audit import audited


class ScoredInterviewOut(Struct):
    interview_id: str
    plan_version: int
    recommendation: Recommendation
    overall: float | None  # None when no dimension had evidence
    dimension_scores: dict[str, float]  # scored dimensions only: insufficient evidence is absent, never 0
    performance: float | None  # the hire's newest performance score; None: no outcome


class JobScoresOut(Struct):
    job_id: str
    pass_threshold: float
    unreadable_reports: int
    interviews: list[ScoredInterviewOut]


@get(
    "/v1/jobs/{job_id:str}/scores",
    guards=[role_guard],
    opt=audited("job_scores_viewed"),
    tags=["studies"],
    responses=errors(401, 404),
)
async def job_scores(job_id: FromPath[str], store: NamedDependency[Store]) -> JobScoresOut:
    """Each interview of the job with a report: overall and dimension scores, recommendation, the plan version it
    ran, and the hire's newest performance score where there is one."""
    job = await store.job(job_id)
    if job is None:
        raise not_found("job", job_id)
    results = await Outcomes(store).scored_interviews(job_id)
    return JobScoresOut(
        job_id=job_id,
        pass_threshold=job.pass_threshold,
        unreadable_reports=results.unreadable_reports,
        interviews=[
            ScoredInterviewOut(
                i.interview_id,
                i.plan_version,
                i.recommendation,
                i.overall,
                i.dimension_scores,
                None if i.outcome is None else i.outcome.score,
            )
            for i in results.interviews
        ],
    )
