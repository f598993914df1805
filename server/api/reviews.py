"""`/v1/jobs/{id}/reviewers` (a job's reviewers and blind setting) and `/v1/reviews`: the review tasks a ready report
gives them, one task read as its reviewer may see it (blind until they submit), and their scorecard.

The rules are hr/reviews.py; the rows, server/db/reviews.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_409_CONFLICT
from msgspec import Meta, Struct

from dialogue.report import Report
from hr.reviews import (
    DuplicateScorecardError,
    Reviewer,
    ReviewError,
    review_policy,
    scorecard,
    visibility,
)
from server.api.schemas import TurnOut
from server.auth import role_guard, within_jobs
from server.db.reviews import JobNotFound, RecourseTask, ReviewNotFound, ReviewSubject, SqlReviews
from server.db.store import Store, StoredReportError, report_from_json
from server.db.tables import ReviewTaskRow, ScorecardRow
from server.errors import ApiError, bad_request, conflict, errors, not_found
from server.people import RECRUITING, REVIEWING, Principal, Role, roles
from server.route_audit import audited

RecommendationIn = Literal["strong_yes", "yes", "no", "definitely_not", "no_decision"]


class ReviewerIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    email: Annotated[str, Meta(min_length=3, max_length=320)]


class ReviewersIn(Struct, forbid_unknown_fields=True):
    reviewers: Annotated[list[ReviewerIn], Meta(max_length=50)]
    blind: bool = True  # hide the AI's score and the others' scorecards from each reviewer until theirs is in


class ReviewersOut(Struct):
    job_id: str
    reviewers: list[ReviewerIn]
    blind: bool


class ScorecardIn(Struct, forbid_unknown_fields=True):
    """Ratings by the report's dimension names, 1 (definitely not) to 4 (strong yes); a dimension may be left out.
    The range is checked with the dimensions (not by the schema), so that a refusal names the dimension."""

    recommendation: RecommendationIn
    ratings: dict[str, int] = {}
    comment: Annotated[str, Meta(max_length=5000)] | None = None


class ScorecardOut(Struct):
    id: str
    interview_id: str
    reviewer_name: str
    reviewer_email: str
    ratings: dict[str, int]
    recommendation: str
    comment: str | None
    via_share_link: str | None  # the share link a hiring manager used; None for a job's reviewer
    created_at: datetime


class ReviewOut(Struct):
    id: str
    interview_id: str
    job_id: str
    reason: str  # report_ready: a job's reviewer; candidate_request: the candidate asked for a human review
    reviewer_name: str | None
    reviewer_email: str | None
    status: str  # pending | done
    due_at: datetime
    created_at: datetime
    closed_at: datetime | None
    message: str | None  # the candidate's, with their request


class ReviewDetail(Struct):
    """A review task as its reviewer sees it. While `hidden` lists something, it is left out: in a blind review the
    AI's report and the other scorecards appear once the reviewer's own scorecard is in."""

    review: ReviewOut
    blind: bool
    dimensions: list[str]  # what to rate, as the report names them
    transcript: list[TurnOut]
    scorecard: ScorecardOut | None  # the reviewer's own, once submitted
    hidden: list[str]  # ai_report, other_scorecards
    ai_report: Report | None
    other_scorecards: list[ScorecardOut] | None


def review_out(row: ReviewTaskRow) -> ReviewOut:
    return ReviewOut(
        id=row.id,
        interview_id=row.interview_id,
        job_id=row.job_id,
        reason=row.reason,
        reviewer_name=row.reviewer_name,
        reviewer_email=row.reviewer_email or None,
        status=row.status,
        due_at=row.due_at,
        created_at=row.created_at,
        closed_at=row.closed_at,
        message=row.message,
    )


def scorecard_out(row: ScorecardRow) -> ScorecardOut:
    return ScorecardOut(
        id=row.id,
        interview_id=row.interview_id,
        reviewer_name=row.reviewer_name,
        reviewer_email=row.reviewer_email,
        ratings=dict(row.ratings),
        recommendation=row.recommendation,
        comment=row.comment,
        via_share_link=row.share_id,
        created_at=row.created_at,
    )


async def _subject(reviews: SqlReviews, review_id: str, principal: Principal) -> ReviewSubject:
    """The review task, if it is the principal's to see: of their jobs, and their own when they are a reviewer
    (a reviewer scores under their own name only); 404 otherwise, as for an unknown id."""
    try:
        subject = await reviews.subject(review_id)
    except ReviewNotFound:
        raise not_found("review", review_id) from None
    except RecourseTask:
        raise conflict(
            f"{review_id} is a candidate's request for a human review, not a scorecard review: read it with "
            f"GET /v1/recourse and answer it with POST /v1/recourse/{review_id}/answer"
        ) from None
    within_jobs(principal, subject.task.job_id, "review", review_id)
    if principal.role == Role.REVIEWER and subject.task.reviewer_email != principal.email:
        raise not_found("review", review_id)
    return subject


def stored_report(raw: object, interview_id: str) -> Report:
    if not isinstance(raw, dict):
        raise conflict(f"interview {interview_id} has no report yet")
    try:
        return report_from_json(raw)
    except StoredReportError as exc:
        raise conflict(f"{exc}; score it again with POST /v1/interviews/{interview_id}/score") from exc


class ReviewersController(Controller):
    path = "/v1/jobs/{job_id:str}/reviewers"
    tags = ["reviews"]  # noqa: RUF012  (Litestar reads tags as a class attribute)
    guards = [role_guard]  # noqa: RUF012
    opt = roles(RECRUITING)

    @get(opt=audited("reviewers_viewed"), responses=errors(401, 404))
    async def get_reviewers(
        self, job_id: FromPath[str], reviews: NamedDependency[SqlReviews], principal: NamedDependency[Principal]
    ) -> ReviewersOut:
        within_jobs(principal, job_id, "job", job_id)
        try:
            policy = await reviews.policy(job_id)
        except JobNotFound:
            raise not_found("job", job_id) from None
        return ReviewersOut(job_id, [ReviewerIn(r.name, r.email) for r in policy.reviewers], policy.blind)

    @put(responses=errors(400, 401, 404))
    async def set_reviewers(
        self,
        job_id: FromPath[str],
        data: JSONBody[ReviewersIn],
        reviews: NamedDependency[SqlReviews],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> ReviewersOut:
        """Replace the job's reviewers: each is e-mailed, listed in `GET /v1/reviews` and announced by a
        `review.requested` webhook event when one of the job's reports is ready."""
        within_jobs(principal, job_id, "job", job_id)
        try:
            policy = review_policy(((r.name, r.email) for r in data.reviewers), blind=data.blind)
            await reviews.set_policy(job_id, policy)
        except ReviewError as exc:
            raise bad_request(str(exc)) from exc
        except JobNotFound:
            raise not_found("job", job_id) from None
        # How many, not who: the reviewers' names and e-mails stay out of the long-kept chain.
        await store.audit(
            principal.actor, "reviewers_set", None, job_id=job_id, reviewers=len(policy.reviewers), blind=policy.blind
        )
        return ReviewersOut(job_id, [ReviewerIn(r.name, r.email) for r in policy.reviewers], policy.blind)


class ReviewController(Controller):
    path = "/v1/reviews"
    tags = ["reviews"]  # noqa: RUF012
    guards = [role_guard]  # noqa: RUF012
    opt = roles(REVIEWING)

    # Not `reviewer`: it is an e-mail address.
    @get(opt=audited("reviews_listed", "status", "reason", "limit"), responses=errors(400, 401))
    async def list_reviews(
        self,
        reviews: NamedDependency[SqlReviews],
        principal: NamedDependency[Principal],
        status: Annotated[
            Literal["pending", "done"] | None, QueryParameter(description="pending or done; all when left out")
        ] = None,
        reason: Annotated[
            Literal["report_ready", "candidate_request"] | None,
            QueryParameter(description="report_ready (a job's reviewer) or candidate_request (recourse)"),
        ] = None,
        reviewer: Annotated[
            str | None, QueryParameter(max_length=320, description="one reviewer's tasks, by e-mail address")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000, description="tasks to list, soonest due first")] = 100,
    ) -> list[ReviewOut]:
        """Review tasks, soonest due first: reviewers' reviews of ready reports and candidates' requests of the
        caller's jobs; a reviewer's own."""
        if principal.role == Role.REVIEWER:  # their own tasks only
            reviewer = principal.email
        return [review_out(r) for r in await reviews.tasks(status, reason, reviewer, limit, principal.jobs)]

    @get("/{review_id:str}", responses=errors(401, 404, 409))
    async def get_review(
        self,
        review_id: FromPath[str],
        reviews: NamedDependency[SqlReviews],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> ReviewDetail:
        """The interview to review as this task's reviewer may see it now (see `hidden`)."""
        subject = await _subject(reviews, review_id, principal)
        report = stored_report(subject.interview.report, subject.interview.id)
        shown = visibility(subject.blind, submitted_own=subject.own is not None)
        turns = await store.turns(subject.interview.id)
        await store.audit(principal.actor, "review_viewed", subject.interview.id, review_id=review_id)
        hidden: Sequence[str] = [
            name for name, show in (("ai_report", shown.ai_score), ("other_scorecards", shown.others)) if not show
        ]
        return ReviewDetail(
            review=review_out(subject.task),
            blind=subject.blind,
            dimensions=[d.name for d in report.dimensions],
            transcript=[
                TurnOut(t.seq, t.question_id, t.question_kind.value, t.question_text, t.answer, t.start, t.end)
                for t in turns
            ],
            scorecard=scorecard_out(subject.own) if subject.own is not None else None,
            hidden=list(hidden),
            ai_report=report if shown.ai_score else None,
            other_scorecards=[scorecard_out(c) for c in subject.others] if shown.others else None,
        )

    @post("/{review_id:str}/scorecard", status_code=HTTP_201_CREATED, responses=errors(400, 401, 404, 409))
    async def submit_scorecard(
        self,
        review_id: FromPath[str],
        data: JSONBody[ScorecardIn],
        reviews: NamedDependency[SqlReviews],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> ScorecardOut:
        """The task's reviewer's scorecard, under their name and e-mail; the task is done and a `review.submitted`
        event sent. One per reviewer and interview: a second is refused (409 `scorecard_exists`)."""
        subject = await _subject(reviews, review_id, principal)
        report = stored_report(subject.interview.report, subject.interview.id)
        task = subject.task
        try:
            card = scorecard(
                person_of(task),
                data.ratings,
                data.recommendation,
                data.comment,
                [d.name for d in report.dimensions],
            )
            row = await reviews.submit(task.interview_id, card, task_id=task.id)
        except DuplicateScorecardError as exc:
            raise ApiError(HTTP_409_CONFLICT, exc.code, str(exc)) from exc
        except ReviewError as exc:
            raise bad_request(str(exc)) from exc
        await store.audit(
            principal.actor, "scorecard_submitted", task.interview_id, review_id=task.id, scorecard_id=row.id
        )
        return scorecard_out(row)


def person_of(task: ReviewTaskRow) -> Reviewer:
    return Reviewer(task.reviewer_name or "", task.reviewer_email)
