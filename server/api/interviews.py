"""`/v1/interviews`: schedule an interview, read it with its transcript, read its report."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_401_UNAUTHORIZED, HTTP_403_FORBIDDEN, HTTP_404_NOT_FOUND

from dialogue.report import CandidateReport, Report, candidate_view
from dialogue.resume_probes import probes_from_json
from server.api.schemas import (
    CommentOut,
    InterviewCreated,
    InterviewIn,
    InterviewOut,
    ProbeOut,
    ReportVersionOut,
    TurnOut,
)
from server.auth import authenticator, role_guard, within_jobs
from server.db.status import InterviewStatus, JobStatus, ReportSource
from server.db.store import Store, StoredReportError, report_from_json
from server.db.tables import InterviewRow
from server.errors import ApiError, bad_request, conflict, errors, not_found
from server.interview_tokens import candidate_token_opens, join_url, seal_new_tokens
from server.people import RECRUITING, REVIEWING, Principal, roles
from server.planning import Drafts, draft_interview_probes
from server.runtime import Runtime
from server.settings import Settings


async def _interview(store: Store, interview_id: str, principal: Principal) -> InterviewRow:
    row = await store.interview(interview_id)
    if row is None:
        raise not_found("interview", interview_id)
    within_jobs(principal, row.job_id, "interview", interview_id)
    return row


class InterviewController(Controller):
    path = "/v1/interviews"
    tags = ["interviews"]  # noqa: RUF012  (Litestar reads tags as a class attribute)

    @post(guards=[role_guard], opt=roles(RECRUITING), responses=errors(400, 401, 409))
    async def create_interview(
        self,
        data: JSONBody[InterviewIn],
        store: NamedDependency[Store],
        settings: NamedDependency[Settings],
        runtime: NamedDependency[Runtime],
        drafts: NamedDependency[Drafts],
        principal: NamedDependency[Principal],
    ) -> InterviewCreated:
        job = await store.job(data.job_id)
        if job is None or not principal.sees(job.id):
            raise bad_request(f"job_id {data.job_id!r} does not exist; create it with POST /v1/jobs first")
        if job.status == JobStatus.DRAFTING:
            raise conflict(f"job {job.id}'s plan is still being drafted; poll GET /v1/jobs/{job.id} until it is ready")
        candidate = await store.candidate(data.candidate_id)
        if candidate is None:
            raise bad_request(
                f"candidate_id {data.candidate_id!r} does not exist; create it with POST /v1/candidates first"
            )
        row = InterviewRow(
            id=uuid.uuid4().hex,
            job_id=data.job_id,
            candidate_id=data.candidate_id,
            mode=data.mode,
            status=InterviewStatus.SCHEDULED,
            scheduled_at=data.scheduled_at,
            plan_version=job.plan_version,  # pinned: later edits of the plan do not change this interview
        )
        candidate_token, observer_token = seal_new_tokens(store.vault, row)  # shown here once, in plain text
        await store.add_interview(row)
        if candidate.resume_text and job.resume_probes > 0 and settings.plan_model != "none" and runtime.planner:
            drafts.start(
                draft_interview_probes(
                    store, runtime.planner, row.id, candidate.resume_text, job.resume_probes, (candidate.name,)
                ),
                f"résumé probes for interview {row.id}",
            )
        await store.audit(principal.actor, "interview_created", row.id, mode=row.mode)
        return InterviewCreated(
            id=row.id,
            job_id=row.job_id,
            candidate_id=row.candidate_id,
            mode=row.mode,
            candidate_token=candidate_token,
            observer_token=observer_token,
            join_url=join_url(settings.base_url, row.id, candidate_token),
            status=InterviewStatus(row.status),
            scheduled_at=row.scheduled_at,
            plan_version=row.plan_version,
        )

    @get("/{interview_id:str}", guards=[role_guard], opt=roles(REVIEWING), responses=errors(401, 404))
    async def get_interview(
        self, interview_id: FromPath[str], store: NamedDependency[Store], principal: NamedDependency[Principal]
    ) -> InterviewOut:
        row = await _interview(store, interview_id, principal)
        turns = await store.turns(interview_id)
        comments = await store.comments(interview_id)
        await store.audit(principal.actor, "interview_viewed", interview_id)
        return InterviewOut(
            id=row.id,
            job_id=row.job_id,
            candidate_id=row.candidate_id,
            mode=row.mode,
            status=InterviewStatus(row.status),
            transcript=[
                TurnOut(t.seq, t.question_id, t.question_kind.value, t.question_text, t.answer, t.start, t.end)
                for t in turns
            ],
            report=_stored_report(row),
            comments=[CommentOut(c.author, c.text, c.created_at) for c in comments],
            scheduled_at=row.scheduled_at,
            started_at=row.started_at,
            ended_at=row.ended_at,
            end_reason=row.end_reason,
            plan_version=row.plan_version,
            probes=None
            if row.probes is None
            else [
                ProbeOut(f"r{n}", p.question, p.dimension, p.source_span)
                for n, p in enumerate(probes_from_json(row.probes), start=1)
            ],
            ai_notice_accepted_at=row.ai_notice_accepted_at,
            ai_notice_source=row.ai_notice_source,
        )

    @get("/{interview_id:str}/report", responses=errors(401, 404, 409))
    async def get_report(
        self,
        request: Request[Any, Any, Any],
        interview_id: FromPath[str],
        store: NamedDependency[Store],
        settings: NamedDependency[Settings],
        token: FromQuery[str | None] = None,
    ) -> Report | CandidateReport:
        """HR with an API key whose role reads reports (admin, recruiter, reviewer) reads the full report of their
        jobs; the candidate, with `?token=<candidate_token>`, their view (up to SHANMIAN_CANDIDATE_TOKEN_DAYS after the
        interview ended)."""
        principal = await authenticator(request).optional(request)
        reader = principal if principal is not None and principal.role in REVIEWING else None
        row = await store.interview(interview_id)
        if reader is not None and (row is None or not reader.sees(row.job_id)):
            raise not_found("interview", interview_id)
        candidate = candidate_token_opens(store.vault, row, token, settings.candidate_token_days)
        if principal is not None and reader is None and not candidate:
            raise ApiError(
                HTTP_403_FORBIDDEN,
                "forbidden",
                f"the role {principal.role!s} may not read reports; it is open to: {', '.join(sorted(REVIEWING))}",
            )
        # Without an HR key, an unknown id (or a lapsed token) answers like a wrong token: ids are not to be probed.
        if row is None or not (reader or candidate):
            raise ApiError(
                HTTP_401_UNAUTHORIZED,
                "unauthorized",
                "send the HR API key as a bearer token, or ?token=<candidate_token> of this interview",
            )
        if row.report is None:
            raise ApiError(HTTP_404_NOT_FOUND, "not_found", f"the interview has no report yet (status: {row.status})")
        try:
            report = report_from_json(row.report)
        except StoredReportError as exc:
            raise conflict(f"{exc}; score it again with POST /v1/interviews/{interview_id}/score") from exc
        if reader is None:
            return candidate_view(report)
        await store.audit(reader.actor, "report_viewed", interview_id)
        return report

    @get("/{interview_id:str}/reports", guards=[role_guard], opt=roles(REVIEWING), responses=errors(401, 404))
    async def list_reports(
        self, interview_id: FromPath[str], store: NamedDependency[Store], principal: NamedDependency[Principal]
    ) -> list[ReportVersionOut]:
        """Every report the interview has had, oldest first: the one made at its close, then each re-score.

        `GET .../report` answers the newest; none is ever overwritten.
        """
        await _interview(store, interview_id, principal)
        await store.audit(principal.actor, "report_versions_viewed", interview_id)
        return [
            ReportVersionOut(v.version, ReportSource(v.source), v.created_at, _report_or_none(v.report))
            for v in await store.report_versions(interview_id)
        ]


def _stored_report(row: InterviewRow) -> Report | None:
    """HR's report; one stored in an older format is left out (the report route says how to score it again)."""
    return None if row.report is None else _report_or_none(row.report)


def _report_or_none(raw: dict[str, Any]) -> Report | None:
    try:
        return report_from_json(raw)
    except StoredReportError:
        return None
