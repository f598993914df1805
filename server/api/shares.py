"""Share links for hiring managers over HTTP: HR creates, lists and revokes them (`/v1/interviews/{id}/shares`,
`/v1/shares/{id}/revoke`); the manager, with the link's `?token=`, reads the interview (report, transcript,
highlights, recording), every view logged in the audit log, and leaves one scorecard with a comment.

The rules are hr/share_links.py and hr/reviews.py; the rows, server/db/reviews.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import File
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_401_UNAUTHORIZED, HTTP_409_CONFLICT
from msgspec import Meta, Struct, to_builtins

from dialogue.highlights import find_highlights
from dialogue.report import Report
from hr.reviews import DuplicateScorecardError, ReviewError, reviewer, scorecard
from hr.share_links import MAX_EXPIRY, ShareClosedError, ShareLink, check_share
from server.api.recordings import recording_json
from server.api.reviews import RecommendationIn, ScorecardOut, scorecard_out, stored_report
from server.api.schemas import TurnOut
from server.auth import role_guard
from server.db.reviews import InterviewNotFound, ShareNotFound, SqlReviews
from server.db.status import RecordingStatus
from server.db.store import Store, plan_from_json
from server.db.tables import InterviewRow
from server.errors import ApiError, bad_request, conflict, errors, not_found
from server.people import Principal
from server.route_audit import audited
from server.settings import Settings

AUDIT_ACTOR = "share_link"  # the audit entries name the link's id, never the manager who opened it


def utc_now() -> datetime:
    return datetime.now(UTC)


class ShareIn(Struct, forbid_unknown_fields=True):
    expires_in_days: Annotated[int, Meta(ge=1, le=MAX_EXPIRY.days)] | None = None  # SHANMIAN_SHARE_LINK_EXPIRY_DAYS


class ShareOut(Struct):
    id: str
    interview_id: str
    state: str  # open | expired | revoked
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class ShareCreated(ShareOut):
    link: str  # the read-only link to hand the manager: shown once, only its hash is kept


class ManagerScorecardIn(Struct, forbid_unknown_fields=True):
    """The manager's scorecard: their name and e-mail, ratings 1-4 by the report's dimension names, the
    recommendation, and a comment such as "recommend hire"."""

    name: Annotated[str, Meta(min_length=1, max_length=200)]
    email: Annotated[str, Meta(min_length=3, max_length=320)]
    recommendation: RecommendationIn
    ratings: dict[str, int] = {}
    comment: Annotated[str, Meta(max_length=5000)] | None = None


class SharedInterview(Struct):
    """What a share link shows: read-only, with the scorecards left through this link."""

    share: ShareOut
    interview_id: str
    job_title: str
    candidate_name: str
    status: str
    ended_at: datetime | None
    report: Report
    transcript: list[TurnOut]
    highlights: list[Any]  # as GET /v1/interviews/{id}/highlights gives them
    recording: dict[str, Any]
    recording_url: str | None  # the file through this link, when a complete recording exists
    scorecards: list[ScorecardOut]


def share_out(link: ShareLink, now: datetime) -> ShareOut:
    return ShareOut(
        link.id, link.interview_id, link.state(now).value, link.created_at, link.expires_at, link.revoked_at
    )


def link_for(settings: Settings, share_id: str, token: str) -> str:
    # The secret in the query, as join and invitation links: the logs redact `token=` values, never a path.
    return f"{settings.base_url}/share/{share_id}?token={token}"


async def _opened(reviews: SqlReviews, share_id: str, token: str | None) -> tuple[ShareLink, InterviewRow]:
    found = await reviews.share_for_token(share_id, token)
    if found is None:
        raise ApiError(
            HTTP_401_UNAUTHORIZED, "unauthorized", "this share link is not valid; open the link you were sent"
        )
    link, interview = found
    try:
        check_share(link, utc_now())
    except ShareClosedError as exc:
        raise ApiError(HTTP_401_UNAUTHORIZED, exc.code, str(exc)) from exc
    return link, interview


class InterviewSharesController(Controller):
    path = "/v1/interviews/{interview_id:str}/shares"
    tags = ["shares"]  # noqa: RUF012  (Litestar reads tags as a class attribute)
    guards = [role_guard]  # noqa: RUF012

    @post(status_code=HTTP_201_CREATED, responses=errors(400, 401, 404))
    async def create_share(
        self,
        interview_id: FromPath[str],
        reviews: NamedDependency[SqlReviews],
        store: NamedDependency[Store],
        settings: NamedDependency[Settings],
        principal: NamedDependency[Principal],
        data: JSONBody[ShareIn | None] = None,
    ) -> ShareCreated:
        """A read-only link to this interview for a hiring manager, open until it expires (default
        SHANMIAN_SHARE_LINK_EXPIRY_DAYS, 7) or is revoked. The link is shown only in this answer."""
        days = (data.expires_in_days if data is not None else None) or settings.share_link_expiry_days
        try:
            link, token = await reviews.create_share(interview_id, timedelta(days=days))
        except InterviewNotFound:
            raise not_found("interview", interview_id) from None
        await store.audit(principal.actor, "share_created", interview_id, share_id=link.id, expires_in_days=days)
        out = share_out(link, utc_now())
        return ShareCreated(
            **{f: getattr(out, f) for f in out.__struct_fields__}, link=link_for(settings, link.id, token)
        )

    @get(opt=audited("shares_listed"), responses=errors(401, 404))
    async def list_shares(self, interview_id: FromPath[str], reviews: NamedDependency[SqlReviews]) -> list[ShareOut]:
        """The interview's share links, oldest first, each with its state now (their links are not shown again)."""
        try:
            links = await reviews.shares(interview_id)
        except InterviewNotFound:
            raise not_found("interview", interview_id) from None
        now = utc_now()
        return [share_out(link, now) for link in links]


class ShareController(Controller):
    path = "/v1/shares/{share_id:str}"
    tags = ["shares"]  # noqa: RUF012

    @post("/revoke", guards=[role_guard], status_code=HTTP_200_OK, responses=errors(401, 404))
    async def revoke_share(
        self,
        share_id: FromPath[str],
        reviews: NamedDependency[SqlReviews],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> ShareOut:
        """Close the link at once: it answers 401 `share_link_revoked`. Revoking again changes nothing."""
        try:
            link = await reviews.revoke_share(share_id)
        except ShareNotFound:
            raise not_found("share link", share_id) from None
        await store.audit(principal.actor, "share_revoked", link.interview_id, share_id=link.id)
        return share_out(link, utc_now())

    @get(responses=errors(401, 409))
    async def view_share(
        self,
        share_id: FromPath[str],
        reviews: NamedDependency[SqlReviews],
        store: NamedDependency[Store],
        settings: NamedDependency[Settings],
        token: FromQuery[str | None] = None,
    ) -> SharedInterview:
        """The shared interview, read-only; the view is logged (the link's id, no personal data). Expired or
        revoked: 401 `share_link_expired` or `share_link_revoked`."""
        link, interview = await _opened(reviews, share_id, token)
        report = stored_report(interview.report, interview.id)
        job = await store.job(interview.job_id)
        candidate = await store.candidate(interview.candidate_id)
        turns = await store.turns(interview.id)
        plan = await store.interview_plan(interview) or (plan_from_json(job.plan) if job is not None else None)
        highlights = find_highlights(plan, turns) if plan is not None else []
        recording = await store.recording(interview.id)
        playable = recording is not None and recording.path is not None and recording.status == RecordingStatus.COMPLETE
        cards = [c for c in await reviews.scorecards(interview.id) if c.share_id == link.id]
        await store.audit(AUDIT_ACTOR, "share_viewed", interview.id, share_id=link.id)
        return SharedInterview(
            share=share_out(link, utc_now()),
            interview_id=interview.id,
            job_title=job.title if job is not None else "",
            candidate_name=candidate.name if candidate is not None else "",
            status=interview.status,
            ended_at=interview.ended_at,
            report=report,
            transcript=[
                TurnOut(t.seq, t.question_id, t.question_kind.value, t.question_text, t.answer, t.start, t.end)
                for t in turns
            ],
            highlights=[to_builtins(h) for h in highlights],
            recording=recording_json(recording),
            recording_url=f"{settings.base_url}/v1/shares/{link.id}/recording" if playable else None,
            scorecards=[scorecard_out(c) for c in cards],
        )

    @get("/recording", responses=errors(401, 404, 409))
    async def share_recording(
        self,
        share_id: FromPath[str],
        reviews: NamedDependency[SqlReviews],
        store: NamedDependency[Store],
        token: FromQuery[str | None] = None,
    ) -> File:
        """The interview's recording through the link (`?token=` as for the view); each download logged."""
        link, interview = await _opened(reviews, share_id, token)
        rec = await store.recording(interview.id)
        if rec is None or rec.path is None or rec.status != RecordingStatus.COMPLETE:
            raise ApiError(404, "not_found", "the interview has no complete recording")
        path = Path(rec.path)
        if not await asyncio.to_thread(path.is_file):
            raise ApiError(404, "not_found", "the recording file is missing")
        await store.audit(AUDIT_ACTOR, "share_recording_downloaded", interview.id, share_id=link.id)
        return File(path=path, media_type=rec.media_type, filename=path.name)

    @post("/scorecard", status_code=HTTP_201_CREATED, responses=errors(400, 401, 409))
    async def share_scorecard(
        self,
        share_id: FromPath[str],
        data: JSONBody[ManagerScorecardIn],
        reviews: NamedDependency[SqlReviews],
        store: NamedDependency[Store],
        token: FromQuery[str | None] = None,
    ) -> ScorecardOut:
        """The manager's scorecard and comment under their name and e-mail; a `review.submitted` event. One per
        person and interview: a second is 409 `scorecard_exists`."""
        link, interview = await _opened(reviews, share_id, token)
        report = stored_report(interview.report, interview.id)
        try:
            card = scorecard(
                reviewer(data.name, data.email),
                data.ratings,
                data.recommendation,
                data.comment,
                [d.name for d in report.dimensions],
            )
            row = await reviews.submit(interview.id, card, share_id=link.id)
        except DuplicateScorecardError as exc:
            raise ApiError(HTTP_409_CONFLICT, exc.code, str(exc)) from exc
        except ReviewError as exc:
            raise bad_request(str(exc)) from exc
        except InterviewNotFound:
            raise conflict("the shared interview no longer exists") from None
        await store.audit(AUDIT_ACTOR, "scorecard_submitted", interview.id, share_id=link.id, scorecard_id=row.id)
        return scorecard_out(row)
