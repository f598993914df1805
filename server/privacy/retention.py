"""The retention job: each data class deleted once its retention period after the interview's end is over.

- recordings: the files and their rows, `SHANMIAN_RETENTION_RECORDINGS_DAYS` (30) after the interview ended (a
  recording still being written is never touched);
- transcripts: the turns (questions and answers), `SHANMIAN_RETENTION_TRANSCRIPTS_DAYS` (0: kept until erased);
- reports: every report version, the interview's copy of the newest and the reviewers' comments,
  `SHANMIAN_RETENTION_REPORTS_DAYS` (0: kept until erased);
- the audit log: the oldest entries, `SHANMIAN_AUDIT_RETENTION_DAYS` (365, at least 183) after they were written,
  only ever a prefix of its hash chain, whose new start is recorded so that it still verifies.

Every node runs it at start-up and then every `SHANMIAN_RETENTION_INTERVAL_S` (a day). Runs need no lock between
nodes: each deletes only what is past its limit now, so two runs at once, or a run repeated after a crash, delete
the same things once (a file already gone or a row already deleted counts as nothing). Each run is a row in
`retention_runs` (node, start, end, limits, counts, error), for operators to see that it ran.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, delete, func, null, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.db import audit_log
from server.db.status import RecordingStatus
from server.db.store import Store
from server.db.tables import CommentRow, InterviewRow, RecordingRow, ReportVersionRow, RetentionRunRow, TurnRow
from server.polling import PollingWorker
from server.privacy.erasure import delete_files, recording_files
from server.settings import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RetentionLimits:
    """Days each data class is kept after its interview ended; 0 keeps it until the candidate is erased."""

    recordings: int
    transcripts: int
    reports: int

    @classmethod
    def of(cls, settings: Settings) -> RetentionLimits:
        return cls(
            settings.retention_recordings_days, settings.retention_transcripts_days, settings.retention_reports_days
        )

    def as_dict(self) -> dict[str, int]:
        return {"recordings": self.recordings, "transcripts": self.transcripts, "reports": self.reports}


@dataclass(frozen=True, slots=True)
class RetentionRun:
    id: str
    node: str
    started_at: datetime
    finished_at: datetime | None
    limits: dict[str, int]
    counts: dict[str, int] | None
    error: str | None


def run_of(row: RetentionRunRow) -> RetentionRun:
    counts = None if row.counts is None else {k: int(v) for k, v in row.counts.items()}
    return RetentionRun(row.id, row.node, row.started_at, row.finished_at, dict(row.limits), counts, row.error)


def _rows(result: Any) -> int:
    cursor: CursorResult[Any] = result
    return max(cursor.rowcount, 0)


class Retention(PollingWorker):
    """The job, started with the server's services; `run` is one pass, callable directly (tests, operators)."""

    def __init__(self, store: Store, settings: Settings, *, clock: Clock = utc_now, node: str | None = None) -> None:
        super().__init__("retention", "rt", settings.retention_interval_s)
        self.store = store
        self.limits = RetentionLimits.of(settings)
        self.audit_days = settings.audit_retention_days
        self.recordings_dir = settings.recordings_path
        self.clock = clock
        self.node = node or f"{socket.gethostname()}:{os.getpid()}"
        self._session = async_sessionmaker(store.engine, expire_on_commit=False)

    async def run_once(self) -> int:
        """A run (the first at start-up, in the background: a start-up never waits for a long deletion), then the
        next after the interval, however much this one deleted; a failed run is recorded in its row when the
        database allowed, and the next tries again."""
        await self.run()
        return 0

    async def run(self) -> RetentionRun:
        started = self.clock()
        row = RetentionRunRow(
            id="rr_" + secrets.token_hex(12), node=self.node, started_at=started, limits=self.limits.as_dict()
        )
        async with self._session() as s, s.begin():
            s.add(row)
        counts: dict[str, int] = {}
        error = None
        try:
            counts.update(await self._recordings(started))
            counts.update(await self._transcripts(started))
            counts.update(await self._reports(started))
            counts.update(await self._audit_log(started))
        except BaseException as exc:  # a shutdown mid-run too: the row says the run was cut short
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            async with self._session() as s, s.begin():
                stored = await s.get(RetentionRunRow, row.id)
                if stored is not None:
                    stored.finished_at, stored.counts, stored.error = self.clock(), counts, error
                    row = stored
        if any(counts.values()):
            log.info("retention: deleted %s", counts)
        return run_of(row)

    async def runs(self, limit: int = 20) -> list[RetentionRun]:
        """The newest runs, newest first."""
        query = select(RetentionRunRow).order_by(RetentionRunRow.started_at.desc()).limit(limit)
        async with self._session() as s:
            return [run_of(r) for r in (await s.scalars(query)).all()]

    def _ended_before(self, days: int, now: datetime) -> Any:
        """Interviews that ended more than `days` ago."""
        cutoff = now - timedelta(days=days)
        return select(InterviewRow.id).where(InterviewRow.ended_at.is_not(None), InterviewRow.ended_at < cutoff)

    async def _recordings(self, now: datetime) -> dict[str, int]:
        if not self.limits.recordings:
            return {}
        cutoff = now - timedelta(days=self.limits.recordings)
        query = (
            select(RecordingRow.interview_id, RecordingRow.path)
            .join(InterviewRow, InterviewRow.id == RecordingRow.interview_id)
            .where(
                RecordingRow.status != RecordingStatus.RECORDING,
                # An interview a dead node left unended is aged by its recording's last change instead.
                func.coalesce(InterviewRow.ended_at, RecordingRow.updated_at) < cutoff,
            )
        )
        async with self._session() as s:
            due = (await s.execute(query)).all()
        files = rows = 0
        for interview_id, path in due:
            # The file first: a row is deleted only once its file is gone, so a failed unlink is retried next run.
            files += await asyncio.to_thread(self._delete_files, interview_id, path)
            async with self._session() as s, s.begin():
                rows += _rows(
                    await s.execute(
                        delete(RecordingRow).where(
                            RecordingRow.interview_id == interview_id, RecordingRow.status != RecordingStatus.RECORDING
                        )
                    )
                )
        return {"recordings": rows, "recording_files": files}

    def _delete_files(self, interview_id: str, path: str | None) -> int:
        return delete_files(recording_files(self.recordings_dir, interview_id, path))

    async def _transcripts(self, now: datetime) -> dict[str, int]:
        if not self.limits.transcripts:
            return {}
        ended = self._ended_before(self.limits.transcripts, now)
        async with self._session() as s, s.begin():
            return {"turns": _rows(await s.execute(delete(TurnRow).where(TurnRow.interview_id.in_(ended))))}

    async def _reports(self, now: datetime) -> dict[str, int]:
        if not self.limits.reports:
            return {}
        ended = self._ended_before(self.limits.reports, now)
        async with self._session() as s, s.begin():
            versions = _rows(await s.execute(delete(ReportVersionRow).where(ReportVersionRow.interview_id.in_(ended))))
            comments = _rows(await s.execute(delete(CommentRow).where(CommentRow.interview_id.in_(ended))))
            await s.execute(
                update(InterviewRow)
                .where(InterviewRow.id.in_(ended), InterviewRow.report.is_not(None))
                .values(report=null())  # SQL NULL, as for an interview never scored (None would be JSON null)
            )
        return {"report_versions": versions, "comments": comments}

    async def _audit_log(self, now: datetime) -> dict[str, int]:
        async with self._session() as s, s.begin():
            pruned = await audit_log.prune_before(s, now - timedelta(days=self.audit_days), "retention")
        return {"audit_log": pruned} if pruned else {}
