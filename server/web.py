"""The pages people use: the candidate page that `join_url` opens, the HR pages, and web_client/'s static files.

Pages are plain HTML/JS modules served as they are (no build step); they talk to the public API like any client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_401_UNAUTHORIZED
from litestar.types import ControllerRouterHandler

from server.db.booking import SqlBookings
from server.db.status import InterviewStatus
from server.db.store import Store, plan_from_json
from server.errors import ApiError, errors
from server.interview_tokens import candidate_token_opens
from server.settings import Settings

WEB_CLIENT = Path(__file__).resolve().parents[1] / "web_client"
# Pages change with the server; the browser must not keep an old copy of one beside new scripts.
NO_CACHE = {"Cache-Control": "no-cache"}


def _page(name: str) -> Response[bytes]:
    return Response((WEB_CLIENT / name).read_bytes(), media_type="text/html", headers=NO_CACHE)


@get("/join/{interview_id:str}", include_in_schema=False)
async def candidate_page(interview_id: FromPath[str]) -> Response[bytes]:
    """The candidate's page; it reads its token from the URL and checks it against /join/{id}/info."""
    return _page("candidate.html")


@get("/join/{interview_id:str}/info", tags=["web"], responses=errors(401))
async def candidate_info(
    interview_id: FromPath[str],
    store: NamedDependency[Store],
    settings: NamedDependency[Settings],
    bookings: NamedDependency[SqlBookings],
    token: FromQuery[str | None] = None,
) -> dict[str, Any]:
    """What the candidate's page shows before joining: the role, language, mode, number of questions, status, when
    it is booked for and whether the candidate may choose the time (the job offers slots and it has not begun).

    Needs the interview's candidate token; an unknown id answers like a wrong token (ids are not to be probed).
    """
    row = await store.interview(interview_id)
    if not candidate_token_opens(store.vault, row, token, settings.candidate_token_days) or row is None:
        raise ApiError(
            HTTP_401_UNAUTHORIZED, "unauthorized", "this link is not valid; open the link from your invitation"
        )
    job = await store.job(row.job_id)
    can_book = row.status == InterviewStatus.SCHEDULED and await bookings.availability(row.job_id) is not None
    title, language, total = "", "en", 0
    if job is not None:
        plan = await store.interview_plan(row) or plan_from_json(job.plan)
        title, language, total = job.title, job.language, len(plan.questions)
    return {
        "id": row.id,
        "title": title,
        "language": language,
        "mode": row.mode,
        "status": row.status,
        "total_questions": total,
        "has_report": row.report is not None,
        "scheduled_at": row.scheduled_at,
        "can_book": can_book,
        # What is kept: the transcript (text), scores and reviewers' notes; audio (and video) only where this
        # server records and the candidate consents, deleted after SHANMIAN_RETENTION_RECORDINGS_DAYS (0: kept).
        "stores_audio": settings.record,
        "retention_days": settings.retention_recordings_days or None,
    }


@get(["/hr", "/hr/"], include_in_schema=False)
async def dashboard_page() -> Response[bytes]:
    return _page("dashboard.html")


@get("/hr/observe/{interview_id:str}", include_in_schema=False)
async def observer_page(interview_id: FromPath[str]) -> Response[bytes]:
    return _page("observe.html")


@get("/hr/report/{interview_id:str}", include_in_schema=False)
async def report_page(interview_id: FromPath[str]) -> Response[bytes]:
    return _page("report.html")


@get("/hr/audit", include_in_schema=False)
async def audit_page() -> Response[bytes]:
    """The printable bias audit; it asks /v1/audits/bias with the HR key kept in the browser, never in the URL."""
    return _page("audit.html")


@get("/share/{share_id:str}", include_in_schema=False)
async def share_page(share_id: FromPath[str]) -> Response[bytes]:
    """A hiring manager's read-only page; it reads the link's token from the URL and asks /v1/shares/{id}."""
    return _page("share.html")


@get("/", include_in_schema=False)
async def root_page() -> Redirect:
    return Redirect("/hr/")


static_files = create_static_files_router(
    path="/static", directories=[WEB_CLIENT], include_in_schema=False, send_as_attachment=False
)

web_handlers: list[ControllerRouterHandler] = [
    candidate_page,
    candidate_info,
    dashboard_page,
    observer_page,
    report_page,
    audit_page,
    share_page,
    root_page,
    static_files,
]
