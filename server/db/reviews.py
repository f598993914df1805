"""Reviews in the database: jobs' review policies; review tasks written in the transaction that saves a report (with
their e-mails and `review.requested` events); scorecards with their `review.submitted` events; the candidate's
recourse requests; and share links for hiring managers.

The rules are hr/reviews.py, hr/recourse.py and hr/share_links.py; this module only reads and writes rows.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, Insert, Select, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hr.calendar_invite import Person
from hr.recourse import (
    RecourseRequest,
    RecourseStatus,
    answer_text,
    check_can_request,
    request_message,
)
from hr.review_email import ReviewLetter, review_request_email
from hr.reviews import DuplicateScorecardError, Reviewer, ReviewPolicy, Scorecard, reviewer_id
from hr.share_links import ShareLink, new_share, token_hash
from hr.webhook_events import ReviewRequested, ReviewSubmitted
from server.db.status import InterviewStatus
from server.db.store import Store
from server.db.tables import (
    CandidateRow,
    InterviewRow,
    JobRow,
    ReviewPolicyRow,
    ReviewTaskRow,
    ScorecardRow,
    ShareLinkRow,
)
from server.mail import Mail
from server.webhooks.outbox import WebhookOutbox

Clock = Callable[[], datetime]
REPORT_READY = "report_ready"
CANDIDATE_REQUEST = "candidate_request"
PENDING, DONE = "pending", "done"
# Compared against when a share id is unknown, so that an unknown id and a wrong token take the same time.
_NO_SHARE = token_hash(secrets.token_urlsafe(24))


def utc_now() -> datetime:
    return datetime.now(UTC)


class JobNotFound(LookupError):
    pass


class InterviewNotFound(LookupError):
    pass


class ReviewNotFound(LookupError):
    pass


class ShareNotFound(LookupError):
    pass


class RecourseTask(LookupError):
    """The review task is a candidate's request: HR answers it (POST /v1/recourse/{id}/answer), nobody scores it."""


class RecourseNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class ReviewSubject:
    """One review task with what it is about: its interview and the job's blind setting, the reviewer's own
    scorecard (None until submitted) and everyone else's."""

    task: ReviewTaskRow
    interview: InterviewRow
    blind: bool
    own: ScorecardRow | None
    others: Sequence[ScorecardRow]


def policy_of(row: ReviewPolicyRow | None) -> ReviewPolicy:
    if row is None:
        return ReviewPolicy()
    return ReviewPolicy(tuple(Reviewer(r["name"], r["email"]) for r in row.reviewers), row.blind)


def recourse_of(row: ReviewTaskRow) -> RecourseRequest:
    return RecourseRequest(
        id=row.id,
        interview_id=row.interview_id,
        message=row.message,
        status=RecourseStatus.ANSWERED if row.status == DONE else RecourseStatus.PENDING,
        created_at=row.created_at,
        due_at=row.due_at,
        answer=row.response,
        answered_at=row.closed_at,
    )


def share_of(row: ShareLinkRow) -> ShareLink:
    return ShareLink(row.id, row.interview_id, row.created_at, row.expires_at, row.revoked_at)


def _insert_task_once(session: AsyncSession) -> Insert:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(ReviewTaskRow).on_conflict_do_nothing(
        index_elements=["interview_id", "reason", "reviewer_email"]
    )


class SqlReviews:
    """Every read and write of the review, scorecard and share-link tables; also a Store transition listener, so
    that a saved report asks the job's reviewers for their review in the report's own transaction."""

    def __init__(
        self,
        store: Store,
        webhooks: WebhookOutbox,
        mail: Mail,
        *,
        base_url: str,
        review_due: timedelta,
        recourse_due: timedelta,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.webhooks = webhooks
        self.mail = mail
        self.base_url = base_url.rstrip("/")
        self.review_due = review_due
        self.recourse_due = recourse_due
        self.clock = clock
        self._session = async_sessionmaker(store.engine, expire_on_commit=False)

    # --- policies --------------------------------------------------------------------------------------------

    async def policy(self, job_id: str) -> ReviewPolicy:
        async with self._session() as s:
            if await s.get(JobRow, job_id) is None:
                raise JobNotFound(job_id)
            return policy_of(await s.get(ReviewPolicyRow, job_id))

    async def set_policy(self, job_id: str, policy: ReviewPolicy) -> ReviewPolicy:
        reviewers = [{"name": r.name, "email": r.email} for r in policy.reviewers]
        async with self._session() as s, s.begin():
            if await s.get(JobRow, job_id) is None:
                raise JobNotFound(job_id)
            row = await s.get(ReviewPolicyRow, job_id, with_for_update=True)
            if row is None:
                s.add(ReviewPolicyRow(job_id=job_id, reviewers=reviewers, blind=policy.blind, updated_at=self.clock()))
            else:
                row.reviewers, row.blind, row.updated_at = reviewers, policy.blind, self.clock()
        return policy

    # --- the Store's transition listener ---------------------------------------------------------------------

    async def interview_status_changed(self, session: AsyncSession, interview_id: str, status: InterviewStatus) -> None:
        return None

    async def plan_version_created(
        self, session: AsyncSession, job_id: str, version: int, source: str, note: str | None
    ) -> None:
        return None

    async def report_saved(self, session: AsyncSession, interview_id: str, version: int) -> None:
        """A task, an e-mail and a `review.requested` event per reviewer of the job; a re-score asks nobody twice
        (the task's unique key), while a reviewer added since is asked then."""
        interview = await session.get(InterviewRow, interview_id)
        if interview is None:
            return
        policy = policy_of(await session.get(ReviewPolicyRow, interview.job_id))
        if not policy.reviewers:
            return
        job = await session.get(JobRow, interview.job_id)
        candidate = await session.get(CandidateRow, interview.candidate_id)
        now = self.clock()
        due = now + self.review_due
        for person in policy.reviewers:
            task_id = "rev_" + secrets.token_hex(12)
            values = {
                "id": task_id,
                "interview_id": interview.id,
                "job_id": interview.job_id,
                "reason": REPORT_READY,
                "reviewer_name": person.name,
                "reviewer_email": person.email,
                "status": PENDING,
                "due_at": due,
                "created_at": now,
            }
            inserted: CursorResult[Any] = await session.execute(_insert_task_once(session).values(**values))  # type: ignore[assignment]  # an INSERT's result is a CursorResult
            if inserted.rowcount != 1:
                continue
            letter = ReviewLetter(
                job_title=job.title if job else interview.job_id,
                candidate_name=candidate.name if candidate else interview.candidate_id,
                language="zh" if job is not None and job.language == "zh" else "en",
                link=f"{self.base_url}/v1/reviews/{task_id}",
                due_at=due,
                blind=policy.blind,
                sender=self.mail.sender,
                reviewer=Person(person.email, person.name),
                message_domain=self.mail.domain,
            )
            # Filed under the candidate it names, so that erasing the candidate erases it too.
            await self.mail.outbox.add(
                session,
                "mail_" + secrets.token_hex(12),
                f"review:{task_id}",
                "review_request",
                review_request_email(letter, now),
                candidate_id=interview.candidate_id,
            )
            payload = ReviewRequested(
                review_id=task_id,
                interview_id=interview.id,
                job_id=interview.job_id,
                requested_by="hr",
                due_at=due,
            )
            await self.webhooks.enqueue(session, f"review.requested:{task_id}", payload, now)

    # --- review tasks and scorecards ---------------------------------------------------------------------------

    async def tasks(
        self,
        status: str | None = None,
        reason: str | None = None,
        reviewer_email: str | None = None,
        limit: int = 100,
        job_ids: frozenset[str] | None = None,
    ) -> Sequence[ReviewTaskRow]:
        """The soonest due first; of the jobs `job_ids` only, unless None."""
        query = select(ReviewTaskRow).order_by(ReviewTaskRow.due_at, ReviewTaskRow.id).limit(limit)
        if job_ids is not None:
            query = query.where(ReviewTaskRow.job_id.in_(job_ids))
        if status is not None:
            query = query.where(ReviewTaskRow.status == status)
        if reason is not None:
            query = query.where(ReviewTaskRow.reason == reason)
        if reviewer_email is not None:
            query = query.where(ReviewTaskRow.reviewer_email == reviewer_email.strip().lower())
        async with self._session() as s:
            return (await s.scalars(query)).all()

    async def awaiting_review(self) -> set[str]:
        """The interviews with a reviewer's task still pending (the dashboard's `awaiting review`)."""
        query = select(ReviewTaskRow.interview_id).where(
            ReviewTaskRow.status == PENDING, ReviewTaskRow.reason == REPORT_READY
        )
        async with self._session() as s:
            return set((await s.scalars(query)).all())

    async def subject(self, task_id: str) -> ReviewSubject:
        async with self._session() as s:
            task = await s.get(ReviewTaskRow, task_id)
            if task is None:
                raise ReviewNotFound(task_id)
            if task.reason != REPORT_READY:
                raise RecourseTask(task_id)
            interview = await s.get(InterviewRow, task.interview_id)
            if interview is None:
                raise ReviewNotFound(task_id)
            policy = policy_of(await s.get(ReviewPolicyRow, task.job_id))
            cards = (await s.scalars(self._cards(task.interview_id))).all()
        own = next((c for c in cards if c.reviewer_email == task.reviewer_email), None)
        others = [c for c in cards if c.reviewer_email != task.reviewer_email]
        return ReviewSubject(task, interview, policy.blind, own, others)

    @staticmethod
    def _cards(interview_id: str) -> Select[ScorecardRow]:
        return (
            select(ScorecardRow)
            .where(ScorecardRow.interview_id == interview_id)
            .order_by(ScorecardRow.created_at, ScorecardRow.id)
        )

    async def scorecards(self, interview_id: str) -> Sequence[ScorecardRow]:
        async with self._session() as s:
            if await s.get(InterviewRow, interview_id) is None:
                raise InterviewNotFound(interview_id)
            return (await s.scalars(self._cards(interview_id))).all()

    async def submit(
        self, interview_id: str, card: Scorecard, *, task_id: str | None = None, share_id: str | None = None
    ) -> ScorecardRow:
        """The scorecard, its task (if any) done, and its `review.submitted` event, in one transaction; a second
        scorecard by the same person for the same interview is refused."""
        now = self.clock()
        row = ScorecardRow(
            id="sc_" + secrets.token_hex(12),
            interview_id=interview_id,
            reviewer_name=card.reviewer.name,
            reviewer_email=card.reviewer.email,
            share_id=share_id,
            ratings=dict(card.ratings),
            recommendation=card.recommendation,
            comment=card.comment,
            created_at=now,
        )
        try:
            async with self._session() as s, s.begin():
                interview = await s.get(InterviewRow, interview_id)
                if interview is None:
                    raise InterviewNotFound(interview_id)
                s.add(row)
                await s.flush()
                if task_id is not None:
                    await s.execute(
                        update(ReviewTaskRow)
                        .where(ReviewTaskRow.id == task_id, ReviewTaskRow.status == PENDING)
                        .values(status=DONE, closed_at=now)
                    )
                payload = ReviewSubmitted(
                    review_id=row.id,
                    interview_id=interview_id,
                    job_id=interview.job_id,
                    reviewer_id=reviewer_id(card.reviewer.email),
                    recommendation=card.recommendation,
                )
                await self.webhooks.enqueue(s, f"review.submitted:{row.id}", payload, now)
        except IntegrityError as exc:
            raise DuplicateScorecardError(
                f"{card.reviewer.email} has already submitted a scorecard for interview {interview_id}; "
                "a scorecard is not changed once submitted"
            ) from exc
        return row

    # --- the candidate's recourse ---------------------------------------------------------------------------

    async def _recourse_row(self, s: AsyncSession, interview_id: str) -> ReviewTaskRow | None:
        query = select(ReviewTaskRow).where(
            ReviewTaskRow.interview_id == interview_id, ReviewTaskRow.reason == CANDIDATE_REQUEST
        )
        return (await s.scalars(query)).first()

    async def request_recourse(self, interview: InterviewRow, message: str | None) -> RecourseRequest:
        """The candidate's request, a task due within the recourse period, and its `review.requested` event."""
        text = request_message(message)
        now = self.clock()
        row = ReviewTaskRow(
            id="rcr_" + secrets.token_hex(12),
            interview_id=interview.id,
            job_id=interview.job_id,
            reason=CANDIDATE_REQUEST,
            reviewer_name=None,
            reviewer_email="",  # no one named: HR answers; "" keeps the one-request-per-interview key unique
            message=text,
            status=PENDING,
            due_at=now + self.recourse_due,
            created_at=now,
        )
        try:
            async with self._session() as s, s.begin():
                existing = await self._recourse_row(s, interview.id)
                check_can_request(interview.report is not None, recourse_of(existing) if existing else None)
                s.add(row)
                await s.flush()
                payload = ReviewRequested(
                    review_id=row.id,
                    interview_id=interview.id,
                    job_id=interview.job_id,
                    requested_by="candidate",
                    due_at=row.due_at,
                )
                await self.webhooks.enqueue(s, f"review.requested:{row.id}", payload, now)
        except IntegrityError:
            # A concurrent request won the unique key: the candidate follows that one.
            async with self._session() as s:
                existing = await self._recourse_row(s, interview.id)
            check_can_request(True, recourse_of(existing) if existing else None)
            raise
        return recourse_of(row)

    async def recourse_for(self, interview_id: str) -> RecourseRequest | None:
        async with self._session() as s:
            row = await self._recourse_row(s, interview_id)
        return recourse_of(row) if row is not None else None

    async def recourse_requests(self, status: RecourseStatus | None = None, limit: int = 100) -> list[RecourseRequest]:
        rows = await self.tasks(
            status=None if status is None else (DONE if status is RecourseStatus.ANSWERED else PENDING),
            reason=CANDIDATE_REQUEST,
            limit=limit,
        )
        return [recourse_of(r) for r in rows]

    async def answer_recourse(self, request_id: str, text: str) -> RecourseRequest:
        async with self._session() as s, s.begin():
            row = await s.get(ReviewTaskRow, request_id, with_for_update=True)
            if row is None or row.reason != CANDIDATE_REQUEST:
                raise RecourseNotFound(request_id)
            row.response = answer_text(recourse_of(row), text)
            row.status, row.closed_at = DONE, self.clock()
        return recourse_of(row)

    # --- share links ------------------------------------------------------------------------------------------

    async def create_share(self, interview_id: str, expires_in: timedelta) -> tuple[ShareLink, str]:
        link, token = new_share(interview_id, self.clock(), expires_in)
        async with self._session() as s, s.begin():
            if await s.get(InterviewRow, interview_id) is None:
                raise InterviewNotFound(interview_id)
            s.add(
                ShareLinkRow(
                    id=link.id,
                    interview_id=interview_id,
                    token_hash=token_hash(token),
                    created_at=link.created_at,
                    expires_at=link.expires_at,
                )
            )
        return link, token

    async def shares(self, interview_id: str) -> list[ShareLink]:
        query = (
            select(ShareLinkRow)
            .where(ShareLinkRow.interview_id == interview_id)
            .order_by(ShareLinkRow.created_at, ShareLinkRow.id)
        )
        async with self._session() as s:
            if await s.get(InterviewRow, interview_id) is None:
                raise InterviewNotFound(interview_id)
            return [share_of(r) for r in (await s.scalars(query)).all()]

    async def revoke_share(self, share_id: str) -> ShareLink:
        """Closed at once; revoking again keeps the first revocation's time."""
        async with self._session() as s, s.begin():
            row = await s.get(ShareLinkRow, share_id, with_for_update=True)
            if row is None:
                raise ShareNotFound(share_id)
            if row.revoked_at is None:
                row.revoked_at = self.clock()
        return share_of(row)

    async def share_for_token(self, share_id: str, token: str | None) -> tuple[ShareLink, InterviewRow] | None:
        """The link and its interview if `token` is this link's; None alike for an unknown id or a wrong token."""
        async with self._session() as s:
            row = await s.get(ShareLinkRow, share_id)
            interview = await s.get(InterviewRow, row.interview_id) if row is not None else None
        expected = row.token_hash if row is not None else _NO_SHARE
        matches = hmac.compare_digest(expected, token_hash(token or ""))
        if row is None or interview is None or not matches:
            return None
        return share_of(row), interview
