"""Hand-offs in the database: offer suggestions written in the transaction of the scorecard that made a review
positive, HR's named decision on them (an approval sends `offer.suggested`), the course catalogue, jobs' competency
maps, and hires' course recommendations (`training.recommended`).

The rules are hr/offers.py and hr/courses.py; this module only reads and writes rows.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Insert, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialogue.report import Report
from hr.courses import CompetencyMap, Course, WeakDimension, competency_map, recommend_courses
from hr.offers import (
    LevelHint,
    OfferSuggestion,
    StartWindow,
    Verdict,
    decide,
    review_is_positive,
    suggest_offer,
)
from hr.webhook_events import EventPayload, OfferSuggested, ReviewSubmitted, TrainingRecommended
from server.db.store import Store, StoredReportError, plan_from_json, report_from_json
from server.db.tables import (
    CompetencyMapRow,
    CourseRow,
    InterviewRow,
    JobRow,
    OfferSuggestionRow,
    OutcomeRow,
    ScorecardRow,
    TrainingRecommendationRow,
)
from server.webhooks.outbox import WebhookOutbox

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class OfferNotFound(LookupError):
    pass


class JobNotFound(LookupError):
    pass


class InterviewNotFound(LookupError):
    pass


class TrainingNotFound(LookupError):
    pass


class NotHired(RuntimeError):
    """Courses are recommended to hires only; the message says what marks a hire."""


def suggestion_of(row: OfferSuggestionRow) -> OfferSuggestion:
    return OfferSuggestion(
        id=row.id,
        interview_id=row.interview_id,
        job_id=row.job_id,
        candidate_id=row.candidate_id,
        role=row.role,
        level=LevelHint(row.level, row.level_reason),  # type: ignore[arg-type]  # only hr.offers' levels are written
        start_earliest=row.start_earliest,
        start_latest=row.start_latest,
        created_at=row.created_at,
        status=row.status,  # type: ignore[arg-type]  # only hr.offers' statuses are written
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        note=row.note,
    )


def course_of(row: CourseRow) -> Course:
    return Course(row.id, row.title, tuple(row.competencies), row.url, row.language)


def weak_json(weak: WeakDimension) -> dict[str, object]:
    return {
        "dimension": weak.dimension,
        "score": weak.score,
        "evidence": weak.evidence,
        "competencies": list(weak.competencies),
        "courses": [
            {
                "course_id": c.course.id,
                "title": c.course.title,
                "url": c.course.url,
                "language": c.course.language,
                "competencies": list(c.competencies),
                "reason": c.reason,
            }
            for c in weak.courses
        ],
    }


@dataclass(frozen=True, slots=True)
class StoredOffer:
    suggestion: OfferSuggestion
    scorecard_ids: tuple[str, ...]


def _insert_offer_once(session: AsyncSession) -> Insert:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(OfferSuggestionRow).on_conflict_do_nothing(index_elements=["interview_id"])


def _stored_report(raw: object) -> Report | None:
    if not isinstance(raw, dict):
        return None
    try:
        return report_from_json(raw)
    except StoredReportError:
        return None


class SqlHandoffs:
    """Every read and write of the hand-off tables; also a reaction of the webhook outbox, so that the scorecard that
    makes an interview's review positive writes its offer suggestion in its own transaction."""

    def __init__(
        self, store: Store, webhooks: WebhookOutbox, *, base_url: str, window: StartWindow, clock: Clock = utc_now
    ) -> None:
        self.store = store
        self.webhooks = webhooks
        self.base_url = base_url.rstrip("/")
        self.window = window
        self.clock = clock
        self._session = async_sessionmaker(store.engine, expire_on_commit=False)

    # --- offer suggestions ---------------------------------------------------------------------------------

    async def event_written(self, session: AsyncSession, payload: EventPayload, at: datetime) -> None:
        """The outbox's reaction: after each `review.submitted`, a suggestion if the interview's reviews are now
        positive and it has none yet."""
        if isinstance(payload, ReviewSubmitted):
            await self._suggest_after_review(session, payload.interview_id, at)

    async def _suggest_after_review(self, session: AsyncSession, interview_id: str, at: datetime) -> None:
        if await session.scalar(select(OfferSuggestionRow.id).where(OfferSuggestionRow.interview_id == interview_id)):
            return
        cards = (await session.scalars(select(ScorecardRow).where(ScorecardRow.interview_id == interview_id))).all()
        if not review_is_positive(c.recommendation for c in cards):
            return
        interview = await session.get(InterviewRow, interview_id)
        job = await session.get(JobRow, interview.job_id) if interview is not None else None
        report = _stored_report(interview.report) if interview is not None else None
        if interview is None or job is None or report is None:
            # Scorecards are taken for readable reports only, so the report was replaced meanwhile; the scorecard
            # stands all the same, and a person can still read every scorecard and decide.
            log.warning("no offer suggestion for interview %s: its report is not readable", interview_id)
            return
        suggestion = suggest_offer(
            suggestion_id="of_" + secrets.token_hex(12),
            interview_id=interview.id,
            job_id=job.id,
            candidate_id=interview.candidate_id,
            job_title=job.title,
            report=report,
            decided_at=at,
            window=self.window,
        )
        await session.execute(
            _insert_offer_once(session).values(
                id=suggestion.id,
                interview_id=suggestion.interview_id,
                job_id=suggestion.job_id,
                candidate_id=suggestion.candidate_id,
                role=suggestion.role,
                level=suggestion.level.level,
                level_reason=suggestion.level.reason,
                start_earliest=suggestion.start_earliest,
                start_latest=suggestion.start_latest,
                scorecard_ids=sorted(c.id for c in cards),
                status=suggestion.status,
                created_at=suggestion.created_at,
            )
        )

    async def offers(
        self, status: str | None = None, job_id: str | None = None, interview_id: str | None = None, limit: int = 100
    ) -> list[StoredOffer]:
        """The newest first."""
        query = (
            select(OfferSuggestionRow)
            .order_by(OfferSuggestionRow.created_at.desc(), OfferSuggestionRow.id)
            .limit(limit)
        )
        for column, value in (
            (OfferSuggestionRow.status, status),
            (OfferSuggestionRow.job_id, job_id),
            (OfferSuggestionRow.interview_id, interview_id),
        ):
            if value is not None:
                query = query.where(column == value)
        async with self._session() as s:
            rows = (await s.scalars(query)).all()
        return [StoredOffer(suggestion_of(r), tuple(r.scorecard_ids)) for r in rows]

    async def offer(self, offer_id: str) -> StoredOffer:
        async with self._session() as s:
            row = await s.get(OfferSuggestionRow, offer_id)
        if row is None:
            raise OfferNotFound(offer_id)
        return StoredOffer(suggestion_of(row), tuple(row.scorecard_ids))

    async def decide(self, offer_id: str, verdict: Verdict, by: str, note: str | None) -> StoredOffer:
        """A named approval or rejection (hr.offers.decide's refusals pass through); an approval writes the
        `offer.suggested` event in the same transaction."""
        now = self.clock()
        async with self._session() as s, s.begin():
            row = await s.get(OfferSuggestionRow, offer_id, with_for_update=True)
            if row is None:
                raise OfferNotFound(offer_id)
            decided = decide(suggestion_of(row), verdict, by, now, note)
            row.status, row.decided_by, row.decided_at, row.note = (
                decided.status,
                decided.decided_by,
                decided.decided_at,
                decided.note,
            )
            if decided.status == "approved":
                payload = OfferSuggested(
                    suggestion_id=row.id,
                    interview_id=row.interview_id,
                    job_id=row.job_id,
                    candidate_id=row.candidate_id,
                    role=row.role,
                    level=decided.level.level,
                    start_earliest=row.start_earliest.isoformat(),
                    start_latest=row.start_latest.isoformat(),
                    approved_at=now,
                )
                await self.webhooks.enqueue(s, f"offer.suggested:{row.id}", payload, now)
        return StoredOffer(decided, tuple(row.scorecard_ids))

    # --- the course catalogue and competency maps -----------------------------------------------------------

    async def set_catalogue(self, courses: Sequence[Course]) -> list[Course]:
        """The whole catalogue replaced in one transaction; maps naming competencies no course trains any more keep
        them (they find no course until one does)."""
        now = self.clock()
        async with self._session() as s, s.begin():
            await s.execute(delete(CourseRow))
            s.add_all(
                CourseRow(
                    id=c.id,
                    title=c.title,
                    competencies=list(c.competencies),
                    url=c.url,
                    language=c.language,
                    uploaded_at=now,
                )
                for c in courses
            )
        return list(courses)

    async def catalogue(self) -> list[Course]:
        async with self._session() as s:
            return [course_of(r) for r in (await s.scalars(select(CourseRow).order_by(CourseRow.id))).all()]

    async def competency_map(self, job_id: str) -> CompetencyMap:
        """The job's map; a job without one has none mapped and the default bar."""
        async with self._session() as s:
            if await s.get(JobRow, job_id) is None:
                raise JobNotFound(job_id)
            row = await s.get(CompetencyMapRow, job_id)
        if row is None:
            return CompetencyMap({})
        return CompetencyMap({k: tuple(v) for k, v in row.dimensions.items()}, row.weak_below)

    async def set_competency_map(
        self, job_id: str, dimensions: dict[str, list[str]], weak_below: float
    ) -> CompetencyMap:
        """Checked against the job's current plan and the catalogue (hr.courses.competency_map's refusals pass)."""
        async with self._session() as s, s.begin():
            job = await s.get(JobRow, job_id, with_for_update=True)
            if job is None:
                raise JobNotFound(job_id)
            names = [d.name for d in plan_from_json(job.plan).dimensions]
            known = {c for row in (await s.scalars(select(CourseRow))).all() for c in row.competencies}
            mapping = competency_map(dimensions, weak_below, names, known)
            stored = {k: list(v) for k, v in mapping.dimensions.items()}
            row = await s.get(CompetencyMapRow, job_id, with_for_update=True)
            if row is None:
                s.add(
                    CompetencyMapRow(job_id=job_id, dimensions=stored, weak_below=weak_below, updated_at=self.clock())
                )
            else:
                row.dimensions, row.weak_below, row.updated_at = stored, weak_below, self.clock()
        return mapping

    # --- hires' course recommendations --------------------------------------------------------------------

    async def recommend_training(self, interview_id: str) -> TrainingRecommendationRow:
        """The hire's weak dimensions and their courses from today's catalogue and map, stored with a
        `training.recommended` event. A hire is an interview with a performance outcome recorded
        (`POST /v1/outcomes`): the only record of a hire this server keeps."""
        now = self.clock()
        async with self._session() as s, s.begin():
            interview = await s.get(InterviewRow, interview_id)
            if interview is None:
                raise InterviewNotFound(interview_id)
            if await s.scalar(select(OutcomeRow.id).where(OutcomeRow.interview_id == interview_id).limit(1)) is None:
                raise NotHired(
                    f"interview {interview_id}'s candidate is not recorded as hired: courses are for hires, and a "
                    "hire is recorded with a performance outcome (POST /v1/outcomes)"
                )
            report = _stored_report(interview.report)
            if report is None:
                raise NotHired(f"interview {interview_id} has no readable report; score it again first")
            map_row = await s.get(CompetencyMapRow, interview.job_id)
            mapping = (
                CompetencyMap({k: tuple(v) for k, v in map_row.dimensions.items()}, map_row.weak_below)
                if map_row is not None
                else CompetencyMap({})
            )
            courses = [course_of(r) for r in (await s.scalars(select(CourseRow))).all()]
            weak = recommend_courses(report, mapping, courses)
            row = TrainingRecommendationRow(
                id="tr_" + secrets.token_hex(12),
                interview_id=interview.id,
                job_id=interview.job_id,
                candidate_id=interview.candidate_id,
                weak_below=mapping.weak_below,
                dimensions=[weak_json(w) for w in weak],
                created_at=now,
            )
            s.add(row)
            await s.flush()
            payload = TrainingRecommended(
                recommendation_id=row.id,
                interview_id=interview.id,
                job_id=interview.job_id,
                candidate_id=interview.candidate_id,
                weak_dimensions=len(weak),
                courses=sum(len(w.courses) for w in weak),
                recommendation_url=f"{self.base_url}/v1/training/{row.id}",
            )
            await self.webhooks.enqueue(s, f"training.recommended:{row.id}", payload, now)
        return row

    async def training(self, interview_id: str | None = None, limit: int = 100) -> Sequence[TrainingRecommendationRow]:
        """The newest first."""
        query = (
            select(TrainingRecommendationRow)
            .order_by(TrainingRecommendationRow.created_at.desc(), TrainingRecommendationRow.id)
            .limit(limit)
        )
        async with self._session() as s:
            if interview_id is not None:
                if await s.get(InterviewRow, interview_id) is None:
                    raise InterviewNotFound(interview_id)
                query = query.where(TrainingRecommendationRow.interview_id == interview_id)
            return (await s.scalars(query)).all()

    async def training_recommendation(self, recommendation_id: str) -> TrainingRecommendationRow:
        async with self._session() as s:
            row = await s.get(TrainingRecommendationRow, recommendation_id)
        if row is None:
            raise TrainingNotFound(recommendation_id)
        return row
