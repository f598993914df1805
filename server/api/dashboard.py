"""`GET /v1/dashboard`: every job with its interviews counted by status and against the pass threshold, and
the interviews live now; what the HR dashboard page shows."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.di import NamedDependency

from server.auth import hr_guard
from server.db.status import InterviewStatus
from server.db.store import Store
from server.db.tables import InterviewRow
from server.errors import errors

RECENT = 20  # interviews listed per job, newest first


def _interview(row: InterviewRow, names: dict[str, str]) -> dict[str, Any]:
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
    }


@get("/v1/dashboard", guards=[hr_guard], tags=["dashboard"], responses=errors(401))
async def dashboard(store: NamedDependency[Store]) -> dict[str, Any]:
    """Per job: `counts` by status, `completed`, `passed` (reports at or above the job's pass threshold),
    the newest interviews; and `live`, the interviews in progress across all jobs."""
    counts = await store.status_counts()
    names: dict[str, str] = {}

    async def name(candidate_id: str) -> None:
        if candidate_id not in names:
            row = await store.candidate(candidate_id)
            names[candidate_id] = row.name if row is not None else ""

    jobs: list[dict[str, Any]] = []
    live: list[dict[str, Any]] = []
    for job in await store.jobs():
        interviews = await store.interviews(job.id)
        for row in interviews[:RECENT]:
            await name(row.candidate_id)
        for row in interviews:
            if row.status == InterviewStatus.LIVE:
                await name(row.candidate_id)
                live.append(dict(_interview(row, names), job_id=job.id, job_title=job.title))
        passed = sum(
            1 for r in interviews if r.report is not None and float(r.report.get("overall") or 0.0) >= job.pass_threshold
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
                "interviews": [_interview(r, names) for r in interviews[:RECENT]],
            }
        )
    return {"jobs": jobs, "live": live}
