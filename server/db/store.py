"""The store: every read and write of jobs and their plan versions, candidates, interviews, turns and comments, as
typed calls.

Plans and reports cross this boundary as dialogue's dataclasses; rows never leave this module's callers' hands
mutated behind their back (each call is its own transaction).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from dialogue.plan import InterviewPlan
from dialogue.report import CandidateReport, Report, candidate_view
from dialogue.resume_probes import probes_from_json, with_probes
from dialogue.session import QuestionKind, Turn
from server.db import audit_log, migrate
from server.db.leases import Fence, guard
from server.db.retry import retry_transient
from server.db.status import ENDED, InterviewStatus, JobStatus, RecordingStatus, ReportSource
from server.db.tables import (
    CandidateRow,
    CommentRow,
    InterviewRow,
    JobRow,
    PlanVersionRow,
    RecordingRow,
    ReportVersionRow,
    TurnRow,
)
from server.token_vault import TokenVault

# Where an interview may go from, for each status it may go to: an ended interview never goes live again, and
# its end (completed, or abandoned) is not rewritten by a late second end.
_FROM = {
    InterviewStatus.SCHEDULED: frozenset({InterviewStatus.SCHEDULED}),
    InterviewStatus.LIVE: frozenset({InterviewStatus.SCHEDULED, InterviewStatus.LIVE}),
    InterviewStatus.COMPLETED: frozenset({InterviewStatus.SCHEDULED, InterviewStatus.LIVE}),
    InterviewStatus.ABANDONED: frozenset({InterviewStatus.SCHEDULED, InterviewStatus.LIVE}),
}


def now() -> datetime:
    return datetime.now(UTC)


def plan_to_json(plan: InterviewPlan) -> dict[str, Any]:
    return msgspec.to_builtins(plan)


def plan_from_json(raw: dict[str, Any]) -> InterviewPlan:
    return msgspec.convert(raw, InterviewPlan)


def report_to_json(report: Report) -> dict[str, Any]:
    return msgspec.to_builtins(report)


def report_audit_detail(report: Report, version: int, source: ReportSource) -> dict[str, Any]:
    """What the audit log keeps of an AI output: which models and prompt scored which plan version, and the scores
    (no evidence, rationale or other text of the candidate's)."""
    return {
        "report_version": version,
        "source": source.value,
        "scored_by": report.scorer.scored_by,
        "model_sha256": report.scorer.model_sha256,
        "prompt_version": report.scorer.prompt_version,
        "judge": report.scorer.judge,
        "plan_version": report.plan_version,
        "overall": report.overall,
        "recommendation": report.recommendation.value,
        "dimensions": {d.name: d.score for d in report.dimensions},
    }


class StoredReportError(ValueError):
    """A stored report in a shape older than this server's `Report` (scored before issue 11): score it again."""


def report_from_json(raw: dict[str, Any]) -> Report:
    try:
        return msgspec.convert(raw, Report)
    except msgspec.ValidationError as exc:
        raise StoredReportError(f"the stored report predates this server's report format ({exc})") from exc


def candidate_report_from_json(raw: dict[str, Any]) -> CandidateReport:
    return candidate_view(report_from_json(raw))


def _secure_delete(dbapi_connection: Any, _: Any) -> None:
    """SQLite keeps deleted rows' bytes in free pages of the file until they are reused: an erased candidate's name
    would still be in `shanmian.db`. secure_delete overwrites them with zeros as they are freed."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.close()


class InterviewEnded(RuntimeError):
    """The interview is completed or abandoned (as stored now, whatever a caller read earlier): it cannot go on."""


class TransitionListener(Protocol):
    """Writes what follows from a state change (the webhook outbox) in that change's own transaction, with its
    session: both commit, or neither does."""

    async def interview_status_changed(
        self, session: AsyncSession, interview_id: str, status: InterviewStatus
    ) -> None: ...

    async def report_saved(self, session: AsyncSession, interview_id: str, version: int) -> None: ...

    async def plan_version_created(
        self, session: AsyncSession, job_id: str, version: int, source: str, note: str | None
    ) -> None: ...


class Store:
    def __init__(self, engine: AsyncEngine, vault: TokenVault | None = None) -> None:
        self.engine = engine
        # Seals and opens the interviews' and invitations' tokens; a store opened without the node's key (a tool, a
        # test) gets a key of its own, and opens only tokens it sealed itself or that are stored in plain text.
        self.vault = vault if vault is not None else TokenVault.ephemeral()
        self._session = async_sessionmaker(engine, expire_on_commit=False)
        self.listeners: list[TransitionListener] = []  # see TransitionListener (server.webhooks adds the outbox)

    @classmethod
    async def open(cls, url: str, vault: TokenVault | None = None) -> Store:
        """Connects and migrates to the newest schema."""
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30}
        engine = create_async_engine(url, **kwargs)
        if url.startswith("sqlite"):
            sqlalchemy_event.listen(engine.sync_engine, "connect", _secure_delete)
        await migrate.upgrade(engine)
        return cls(engine, vault)

    async def close(self) -> None:
        await self.engine.dispose()

    async def _add(self, row: Any) -> Any:
        async with self._session() as s, s.begin():
            s.add(row)
        return row

    async def _get(self, kind: type[Any], key: Any) -> Any:
        async with self._session() as s:
            return await s.get(kind, key)

    # --- jobs and candidates ---------------------------------------------------------------------------

    async def add_job(self, row: JobRow, *, source: str = "hr", note: str | None = None) -> JobRow:
        """A ready job's plan is stored as its version `row.plan_version` in the same transaction; a drafting
        job gets its first version from `set_job_plan` when the draft is done."""
        async with self._session() as s, s.begin():
            s.add(row)
            if row.status != JobStatus.DRAFTING:
                await s.flush()  # the job first: the version's foreign key points at it
                s.add(PlanVersionRow(job_id=row.id, version=row.plan_version, plan=row.plan, source=source, note=note))
                for listener in self.listeners:
                    await listener.plan_version_created(s, row.id, row.plan_version, source, note)
        return row

    async def set_job_plan(self, job_id: str, plan: InterviewPlan, *, source: str, note: str | None = None) -> int:
        """Store `plan` as the job's next version and make it current (and the job ready); returns the version.

        Versions are never rewritten: interviews already pinned to an older one keep running and scoring it.
        """
        async with self._session() as s, s.begin():
            job = await s.get(JobRow, job_id, with_for_update=True)
            if job is None:
                raise LookupError(f"job {job_id!r} does not exist")
            newest = await s.scalar(select(func.max(PlanVersionRow.version)).where(PlanVersionRow.job_id == job_id))
            version = (newest or 0) + 1
            raw = plan_to_json(replace(plan, version=version))
            s.add(PlanVersionRow(job_id=job_id, version=version, plan=raw, source=source, note=note))
            job.plan, job.plan_version, job.status = raw, version, JobStatus.READY
            for listener in self.listeners:
                await listener.plan_version_created(s, job_id, version, source, note)
        return version

    async def plan_version(self, job_id: str, version: int) -> PlanVersionRow | None:
        return await self._get(PlanVersionRow, (job_id, version))

    async def plan_versions(self, job_id: str) -> Sequence[PlanVersionRow]:
        query = select(PlanVersionRow).where(PlanVersionRow.job_id == job_id).order_by(PlanVersionRow.version)
        async with self._session() as s:
            return (await s.scalars(query)).all()

    async def job(self, job_id: str) -> JobRow | None:
        return await self._get(JobRow, job_id)

    async def jobs(self) -> Sequence[JobRow]:
        async with self._session() as s:
            return (await s.scalars(select(JobRow).order_by(JobRow.created_at.desc()))).all()

    async def add_candidate(self, row: CandidateRow) -> CandidateRow:
        return await self._add(row)

    async def candidate(self, candidate_id: str) -> CandidateRow | None:
        return await self._get(CandidateRow, candidate_id)

    async def candidate_jobs(self, candidate_id: str) -> set[str]:
        """The jobs the candidate has an interview for."""
        query = select(InterviewRow.job_id).where(InterviewRow.candidate_id == candidate_id).distinct()
        async with self._session() as s:
            return set((await s.scalars(query)).all())

    async def candidate_interviews(self, candidate_id: str) -> list[str]:
        """The ids of the candidate's interviews, oldest first."""
        query = (
            select(InterviewRow.id).where(InterviewRow.candidate_id == candidate_id).order_by(InterviewRow.created_at)
        )
        async with self._session() as s:
            return list((await s.scalars(query)).all())

    # --- interviews ----------------------------------------------------------------------------------

    async def add_interview(self, row: InterviewRow) -> InterviewRow:
        return await self._add(row)

    async def interview(self, interview_id: str) -> InterviewRow | None:
        return await self._get(InterviewRow, interview_id)

    async def interview_plan(self, row: InterviewRow) -> InterviewPlan | None:
        """The plan this interview runs: the job's plan version it was scheduled with, plus its résumé probes."""
        version = await self.plan_version(row.job_id, row.plan_version)
        if version is None:
            return None
        plan = replace(plan_from_json(version.plan), version=version.version)
        return with_probes(plan, probes_from_json(row.probes))

    async def set_probes(self, interview_id: str, probes: list[Any]) -> None:
        async with self._session() as s, s.begin():
            await s.execute(update(InterviewRow).where(InterviewRow.id == interview_id).values(probes=probes))

    async def accept_ai_notice(self, interview_id: str, source: str) -> None:
        """The candidate accepted the AI notice (`source`: hello | rest), in one transaction: the interview keeps the
        first acceptance's moment and source, and every acceptance is an audit entry at its moment (the first one's
        equals the interview's)."""
        at = now()
        async with self._session() as s, s.begin():
            await s.execute(
                update(InterviewRow)
                .where(InterviewRow.id == interview_id, InterviewRow.ai_notice_accepted_at.is_(None))
                .values(ai_notice_accepted_at=at, ai_notice_source=source)
            )
            await audit_log.append(
                s, "candidate", "ai_notice_accepted", interview_id, {"via": source}, clock=lambda: at
            )

    async def interviews(self, job_id: str | None = None) -> Sequence[InterviewRow]:
        query = select(InterviewRow).order_by(InterviewRow.created_at.desc())
        if job_id is not None:
            query = query.where(InterviewRow.job_id == job_id)
        async with self._session() as s:
            return (await s.scalars(query)).all()

    async def status_counts(self) -> dict[tuple[str, InterviewStatus], int]:
        query = select(InterviewRow.job_id, InterviewRow.status, func.count()).group_by(
            InterviewRow.job_id, InterviewRow.status
        )
        async with self._session() as s:
            return {(job, InterviewStatus(status)): n for job, status, n in (await s.execute(query)).all()}

    async def set_status(
        self, interview_id: str, status: InterviewStatus, *, reason: str | None = None, fence: Fence | None = None
    ) -> bool:
        """A compare-and-set on the stored status: the change is made only from a status it may follow (see _FROM),
        and with a `fence`, only while it is the interview's lease's (else LeaseLost, nothing written).

        Returns whether it was made; going `live` from an ended status raises InterviewEnded instead, since the
        caller was about to run an interview that is over.
        """
        values: dict[str, Any] = {"status": status}
        if status == InterviewStatus.LIVE:
            values["started_at"] = func.coalesce(InterviewRow.started_at, now())
        if status in ENDED:
            values["ended_at"] = now()
            values["end_reason"] = reason
        query = (
            update(InterviewRow)
            .where(InterviewRow.id == interview_id, InterviewRow.status.in_(sorted(_FROM[InterviewStatus(status)])))
            .values(**values)
        )
        async with self._session() as s, s.begin():
            if fence is not None:
                await guard(s, fence)
            result: CursorResult[Any] = await s.execute(query)  # type: ignore[assignment]  # an UPDATE's result is a CursorResult; the stubs say Result
            changed = result.rowcount == 1
            if changed:
                for listener in self.listeners:
                    await listener.interview_status_changed(s, interview_id, InterviewStatus(status))
        if not changed and status == InterviewStatus.LIVE:
            raise InterviewEnded(f"interview {interview_id} has ended; it cannot go live again")
        return changed

    async def save_report(
        self,
        interview_id: str,
        report: Report,
        *,
        source: ReportSource = ReportSource.INTERVIEW,
        fence: Fence | None = None,
    ) -> int:
        """Store `report` as the interview's next report version (earlier ones are kept) and make it the current
        one; returns its version. With a `fence`, only while it is the lease's (else LeaseLost, nothing written)."""
        raw = report_to_json(report)
        tries = 3
        while True:
            tries -= 1
            try:
                async with self._session() as s, s.begin():
                    if fence is not None:
                        await guard(s, fence)
                    newest = await s.scalar(
                        select(func.max(ReportVersionRow.version)).where(ReportVersionRow.interview_id == interview_id)
                    )
                    version = (newest or 0) + 1
                    s.add(ReportVersionRow(interview_id=interview_id, version=version, report=raw, source=source))
                    await s.execute(update(InterviewRow).where(InterviewRow.id == interview_id).values(report=raw))
                    for listener in self.listeners:
                        await listener.report_saved(s, interview_id, version)
                    await audit_log.append(
                        s, "system", "report_saved", interview_id, report_audit_detail(report, version, source)
                    )
                return version
            except IntegrityError:
                if not tries:
                    raise  # two writers took the same version three times running: not a race, a fault

    async def report_versions(self, interview_id: str) -> Sequence[ReportVersionRow]:
        query = (
            select(ReportVersionRow)
            .where(ReportVersionRow.interview_id == interview_id)
            .order_by(ReportVersionRow.version)
        )
        async with self._session() as s:
            return (await s.scalars(query)).all()

    # --- turns ------------------------------------------------------------------------------------------

    async def add_turn(self, interview_id: str, turn: Turn, *, fence: Fence | None = None) -> None:
        """Idempotent per (interview, seq): a turn re-sent after a reconnect is not stored twice. With a `fence`,
        stored only while it is the interview's lease's (else LeaseLost): a stale node cannot take a `seq`.

        A transient database error (a dropped connection, a locked file) is retried with backoff (server/db/retry.py)
        before it reaches the session, which would otherwise lose the answer and never send the next question;
        idempotence makes a retry after a commit that did land harmless.
        """

        async def write() -> None:
            row = TurnRow(
                interview_id=interview_id,
                seq=turn.seq,
                question_id=turn.question_id,
                main_question_id=turn.main_question_id,
                question_kind=turn.question_kind.value,
                question_text=turn.question_text,
                answer=turn.answer,
                start=turn.start,
                end=turn.end,
            )
            with contextlib.suppress(IntegrityError):
                async with self._session() as s, s.begin():
                    if fence is not None:
                        await guard(s, fence)
                    s.add(row)

        await retry_transient(f"interview {interview_id}: storing turn {turn.seq}", write)

    async def turns(self, interview_id: str) -> list[Turn]:
        query = select(TurnRow).where(TurnRow.interview_id == interview_id).order_by(TurnRow.seq)
        async with self._session() as s:
            rows = (await s.scalars(query)).all()
        return [
            Turn(
                seq=r.seq,
                question_id=r.question_id,
                main_question_id=r.main_question_id,
                question_kind=QuestionKind(r.question_kind),
                question_text=r.question_text,
                answer=r.answer,
                start=r.start,
                end=r.end,
                heard=r.heard,
            )
            for r in rows
        ]

    async def revise_turn(self, interview_id: str, turn: Turn, *, fence: Fence | None = None) -> None:
        """A stored turn's answer becomes `turn.answer` and its `heard` is kept beside it (see `Turn.heard`);
        retried like `add_turn`, and repeating it changes nothing."""

        async def write() -> None:
            async with self._session() as s, s.begin():
                if fence is not None:
                    await guard(s, fence)
                await s.execute(
                    update(TurnRow)
                    .where(TurnRow.interview_id == interview_id, TurnRow.seq == turn.seq)
                    .values(answer=turn.answer, heard=turn.heard)
                )

        await retry_transient(f"interview {interview_id}: storing turn {turn.seq}'s revision", write)

    # --- comments and audit -------------------------------------------------------------------------

    async def add_comment(self, interview_id: str, author: str, text: str) -> CommentRow:
        return await self._add(CommentRow(interview_id=interview_id, author=author, text=text))

    async def comments(self, interview_id: str) -> Sequence[CommentRow]:
        query = select(CommentRow).where(CommentRow.interview_id == interview_id).order_by(CommentRow.id)
        async with self._session() as s:
            return (await s.scalars(query)).all()

    async def audit(self, actor: str, action: str, interview_id: str | None = None, **detail: Any) -> None:
        """Appends an entry to the hash-chained audit log (server/db/audit_log.py), linked to the interview it is
        about (a link an erasure removes). The detail holds ids, versions and scores, never names, e-mails, answers
        or a candidate's id: an erasure leaves the entry in place."""
        async with self._session() as s, s.begin():
            await audit_log.append(s, actor, action, interview_id, detail)

    async def audit_candidate(
        self, actor: str, action: str, candidate_id: str | None, interview_id: str | None = None, **detail: Any
    ) -> None:
        """`audit`, the entry also linked to the candidate it is about where no interview of theirs stands for
        them (created, self-identified, read before any interview); their erasure removes the link."""
        async with self._session() as s, s.begin():
            await audit_log.append(s, actor, action, interview_id, detail, candidate_id=candidate_id)

    # --- recordings ---------------------------------------------------------------------------------

    async def recording(self, interview_id: str) -> RecordingRow | None:
        return await self._get(RecordingRow, interview_id)

    async def update_recording(self, interview_id: str, *, fence: Fence | None = None, **values: Any) -> RecordingRow:
        """Create or change the interview's recording row; only the given columns change. With a `fence`, only while
        it is the interview's lease's (else LeaseLost): a node that lost the interview leaves the row to the new one."""
        async with self._session() as s, s.begin():
            if fence is not None:
                await guard(s, fence)
            row = await s.get(RecordingRow, interview_id)
            if row is None:
                row = RecordingRow(interview_id=interview_id, status=RecordingStatus.NONE)
                s.add(row)
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = now()
        return row
