"""`GET /v1/dashboard`: every job with its interviews counted by status, invitation, review and against the pass
threshold, and the interviews live now; the reviews due soonest; offer suggestions waiting for HR and the newest
hires' course recommendations; what the HR dashboard page shows."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.di import NamedDependency

from server.api.handoffs import offer_out, training_out
from server.auth import role_guard
from server.db.handoffs import SqlHandoffs
from server.db.invitations import SqlInvitations
from server.db.reviews import SqlReviews
from server.db.status import InterviewStatus
from server.db.store import Store
from server.db.tables import InterviewRow
from server.errors import errors
from server.people import RECRUITING, Principal, roles
from server.route_audit import audited

RECENT = 20  # interviews listed per job, newest first


def _interview(row: InterviewRow, names: dict[str, str], invited: set[str], reviewing: set[str]) -> dict[str, Any]:
    report = row.report or {}
    return {
        "id": row.id,
        "candidate_id": row.candidate_id,
        "candidate_name": names.get(row.candidate_id, ""),
        "mode": row.mode,
        "status": row.status,
        "overall": report.get("overall"),
        "recommendation": report.get("recommendation"),
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "invited": row.id in invited,
        "awaiting_review": row.id in reviewing,
    }


@get(
    "/v1/dashboard",
    guards=[role_guard],
    opt=roles(RECRUITING) | audited("dashboard_viewed"),
    tags=["dashboard"],
    responses=errors(401),
)
async def dashboard(
    store: NamedDependency[Store],
    handoffs: NamedDependency[SqlHandoffs],
    invitations: NamedDependency[SqlInvitations],
    reviews: NamedDependency[SqlReviews],
    principal: NamedDependency[Principal],
) -> dict[str, Any]:
    """Per job: `counts` by status, `completed`, `passed` (reports at or above the job's pass threshold),
    `invited` (interviews opened by an invitation still in force), `awaiting_review` (interviews a reviewer has
    yet to score), the newest interviews (each saying whether it was invited and awaits review); `live`, the
    interviews in progress across all jobs; `reviews_due`, pending review tasks soonest due first (a reviewer's or a
    candidate's request); `offer_suggestions` waiting for a decision and the newest `training_recommendations`.

    A recruiter limited to jobs sees only what is about their jobs."""
    counts = await store.status_counts()
    invited = await invitations.invited_interviews()
    reviewing = await reviews.awaiting_review()
    names: dict[str, str] = {}

    async def name(candidate_id: str) -> None:
        if candidate_id not in names:
            row = await store.candidate(candidate_id)
            names[candidate_id] = row.name if row is not None else ""

    jobs: list[dict[str, Any]] = []
    live: list[dict[str, Any]] = []
    for job in (j for j in await store.jobs() if principal.sees(j.id)):
        interviews = await store.interviews(job.id)
        for row in interviews[:RECENT]:
            await name(row.candidate_id)
        for row in interviews:
            if row.status == InterviewStatus.LIVE:
                await name(row.candidate_id)
                live.append(dict(_interview(row, names, invited, reviewing), job_id=job.id, job_title=job.title))
        passed = sum(
            1
            for r in interviews
            if r.report is not None and float(r.report.get("overall") or 0.0) >= job.pass_threshold
        )
        by_status = {s: counts.get((job.id, s), 0) for s in InterviewStatus}
        jobs.append(
            {
                "id": job.id,
                "title": job.title,
                "language": job.language,
                "pass_threshold": job.pass_threshold,
                "counts": by_status,
                "total": sum(by_status.values()),
                "completed": by_status[InterviewStatus.COMPLETED],
                "passed": passed,
                "invited": sum(1 for r in interviews if r.id in invited),
                "awaiting_review": sum(1 for r in interviews if r.id in reviewing),
                "interviews": [_interview(r, names, invited, reviewing) for r in interviews[:RECENT]],
            }
        )
    titles = {j["id"]: j["title"] for j in jobs}
    due = []
    for task in await reviews.tasks(status="pending", limit=RECENT, job_ids=principal.jobs):
        interview = await store.interview(task.interview_id)
        if interview is not None:
            await name(interview.candidate_id)
        due.append(
            {
                "id": task.id,
                "interview_id": task.interview_id,
                "job_id": task.job_id,
                "job_title": titles.get(task.job_id, ""),
                "candidate_name": names.get(interview.candidate_id, "") if interview is not None else "",
                "reason": task.reason,
                "reviewer_name": task.reviewer_name,
                "due_at": task.due_at,
            }
        )
    offers = await handoffs.offers(status="pending", limit=RECENT)
    return {
        "jobs": jobs,
        "live": live,
        "reviews_due": due,
        "offer_suggestions": [offer_out(o) for o in offers if principal.sees(o.suggestion.job_id)],
        "training_recommendations": [
            training_out(r) for r in await handoffs.training(limit=RECENT) if principal.sees(r.job_id)
        ],
    }
