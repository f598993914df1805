"""Hires' performance outcomes and the stored interview results the HR studies are computed from.

Outcomes are written in one transaction per request (a CSV upload is all or nothing) and each names the interview
that assessed the hire. `scored_interviews` reads a job's interviews with their current report's overall score,
recommendation and per-dimension scores, and each one's newest outcome: everything `hr.validity`,
`hr.reweighting` and `hr.bias_audit` need, so every figure they give is reproducible from the database.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from dialogue.report import DimensionStatus, Recommendation
from server.db.store import Store, StoredReportError, now, report_from_json
from server.db.tables import InterviewRow, OutcomeRow


@dataclass(frozen=True, slots=True)
class NewOutcome:
    interview_id: str
    score: float
    rated_at: date
    rater_saw_interview_scores: bool


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    id: int
    interview_id: str
    candidate_id: str
    score: float
    rated_at: date
    rater_saw_interview_scores: bool
    created_at: datetime


class UnknownInterviews(LookupError):
    """Outcomes name interviews that do not exist; `positions` are the 0-based indexes of those outcomes."""

    def __init__(self, positions: list[int], interview_ids: list[str]) -> None:
        super().__init__(f"no interview with id {', '.join(repr(i) for i in interview_ids)}")
        self.positions = positions
        self.interview_ids = interview_ids


@dataclass(frozen=True, slots=True)
class ScoredInterview:
    """A job's interview as its current report scored it, with its hire's newest performance outcome if any."""

    interview_id: str
    candidate_id: str
    plan_version: int
    recommendation: Recommendation
    overall: float | None
    dimension_scores: dict[str, float]  # scored dimensions only: insufficient evidence is absent, never 0
    outcome: StoredOutcome | None


@dataclass(frozen=True, slots=True)
class JobResults:
    interviews: tuple[ScoredInterview, ...]
    unreadable_reports: int  # stored in a format older than this server's (score them again to include them)


def _stored(row: OutcomeRow, candidate_id: str) -> StoredOutcome:
    return StoredOutcome(
        row.id, row.interview_id, candidate_id, row.score, row.rated_at, row.rater_saw_interview_scores, row.created_at
    )


# Ids per IN (...) list: far below SQLite's and asyncpg's limits on one statement's parameters (32766, 32767).
CHUNK = 1000


def chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


class Outcomes:
    """Performance outcomes and scored interviews over the store's engine."""

    def __init__(self, store: Store) -> None:
        self._session = async_sessionmaker(store.engine, expire_on_commit=False)

    async def add(self, outcomes: Sequence[NewOutcome]) -> list[StoredOutcome]:
        """Store every outcome, or none (UnknownInterviews) when any names an interview that does not exist."""
        at = now()
        async with self._session() as s, s.begin():
            ids = sorted({o.interview_id for o in outcomes})
            found: dict[str, str] = {}
            for chunk in chunks(ids):
                query = select(InterviewRow.id, InterviewRow.candidate_id).where(InterviewRow.id.in_(chunk))
                found.update({iid: candidate for iid, candidate in (await s.execute(query)).all()})
            missing = [i for i, o in enumerate(outcomes) if o.interview_id not in found]
            if missing:
                raise UnknownInterviews(missing, sorted({outcomes[i].interview_id for i in missing}))
            rows = [
                OutcomeRow(
                    interview_id=o.interview_id,
                    score=o.score,
                    rated_at=o.rated_at,
                    rater_saw_interview_scores=o.rater_saw_interview_scores,
                    created_at=at,
                )
                for o in outcomes
            ]
            s.add_all(rows)
            await s.flush()  # the ids
        return [_stored(r, found[r.interview_id]) for r in rows]

    async def for_job(self, job_id: str) -> list[StoredOutcome]:
        query = (
            select(OutcomeRow, InterviewRow.candidate_id)
            .join(InterviewRow, InterviewRow.id == OutcomeRow.interview_id)
            .where(InterviewRow.job_id == job_id)
            .order_by(OutcomeRow.rated_at, OutcomeRow.id)
        )
        async with self._session() as s:
            return [_stored(row, candidate) for row, candidate in (await s.execute(query)).all()]

    async def scored_interviews(
        self, job_id: str | None, start: date | None = None, end: date | None = None
    ) -> JobResults:
        """Interviews with a report (of one job, or all), those that ended between `start` and `end` inclusive."""
        chosen: list[ColumnElement[bool]] = [InterviewRow.report.is_not(None)]
        if job_id is not None:
            chosen.append(InterviewRow.job_id == job_id)
        ended = func.coalesce(InterviewRow.ended_at, InterviewRow.created_at)
        if start is not None:
            chosen.append(ended >= datetime.combine(start, time(), UTC))
        if end is not None:
            chosen.append(ended < datetime.combine(end + timedelta(days=1), time(), UTC))
        # The outcomes by a join on the same conditions, not by a list of ids: a job may have more interviews
        # than a statement may carry parameters.
        outcomes_of_chosen = select(OutcomeRow).join(InterviewRow, InterviewRow.id == OutcomeRow.interview_id)
        async with self._session() as s, s.begin():  # one snapshot for both reads
            interviews = (await s.scalars(select(InterviewRow).where(*chosen).order_by(InterviewRow.id))).all()
            outcomes = (await s.scalars(outcomes_of_chosen.where(*chosen))).all()
        newest: dict[str, OutcomeRow] = {}
        for o in sorted(outcomes, key=lambda o: (o.rated_at, o.id)):
            newest[o.interview_id] = o  # the latest rating of each hire wins
        scored, unreadable = [], 0
        for row in interviews:
            if not row.report:
                continue  # a JSON null: no report after all
            try:
                report = report_from_json(row.report)
            except StoredReportError:
                unreadable += 1
                continue
            outcome = newest.get(row.id)
            scored.append(
                ScoredInterview(
                    interview_id=row.id,
                    candidate_id=row.candidate_id,
                    plan_version=row.plan_version,
                    recommendation=report.recommendation,
                    overall=report.overall,
                    dimension_scores={
                        d.name: d.score
                        for d in report.dimensions
                        if d.score is not None and d.status is not DimensionStatus.INSUFFICIENT_EVIDENCE
                    },
                    outcome=None if outcome is None else _stored(outcome, row.candidate_id),
                )
            )
        return JobResults(tuple(scored), unreadable)
