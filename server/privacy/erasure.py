"""Erasing a candidate: every row held about them and their interviews, their recordings on disk, their interviews'
event history on the bus, in one request; what is left is one audit entry with counts and no personal data.

The rows go in one transaction. Every table with an `interview_id` column (turns, report versions, comments,
recordings, and any added later) loses the rows of the candidate's interviews, and every table with a
`candidate_id` column the candidate's, so a table added later is not missed; webhook events are found by the ids in
their bodies, with their deliveries and delivery logs. Audit entries are never deleted or rewritten (their hash
chain would break): only their candidate's and interviews' ids and salts, outside the hash, are removed, and a
`candidate_erased` entry names them. A live interview is not erased under its session (it may run
on another node): the request is refused (409) until it has ended.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, Table, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.bus import Bus
from server.db import audit_log
from server.db.audit_chain import ERASED
from server.db.status import InterviewStatus
from server.db.store import Store
from server.db.tables import (
    AuditRow,
    Base,
    CandidateRow,
    ErasureRow,
    InterviewRow,
    RecordingRow,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookEventRow,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class CandidateNotFound(LookupError):
    """No candidate with that id: never created, or already erased."""


class CandidateLive(RuntimeError):
    """One of the candidate's interviews is live; it is erased once it has ended."""

    def __init__(self, interview_ids: list[str]) -> None:
        super().__init__(f"interview {', '.join(interview_ids)} is live")
        self.interview_ids = interview_ids


@dataclass(frozen=True, slots=True)
class Erasure:
    """The audit entry of one erasure: nothing in it identifies the candidate."""

    id: str
    erased_at: datetime
    who: str
    counts: dict[str, int]


def erasure_of(row: ErasureRow) -> Erasure:
    return Erasure(row.id, row.erased_at, row.who, {k: int(v) for k, v in row.counts.items()})


def recording_files(directory: Path, interview_id: str, stored: str | None) -> set[Path]:
    """The files of an interview's recording: the one its row names, and any in the recordings folder named after
    it (a file whose row was never written, or a second one from another mode)."""
    found = set(directory.glob(f"{interview_id}.*")) if directory.is_dir() else set()
    if stored:
        found.add(Path(stored))
    return found


def delete_files(paths: set[Path]) -> int:
    """Delete the files (blocking: call it off the event loop); returns how many were there to delete."""
    deleted = 0
    for path in sorted(paths):
        try:
            path.unlink()
            deleted += 1
        except FileNotFoundError:
            pass  # deleted meanwhile (by another node's retention run): gone either way
    return deleted


def _rows(result: Any) -> int:
    cursor: CursorResult[Any] = result
    return max(cursor.rowcount, 0)


def _keyed_by(column: str) -> list[Table]:
    """Every table but `interviews` and the audit log whose rows belong to an interview (or candidate) by this
    column, children before parents (their deletion order)."""
    kept = {"interviews", AuditRow.__tablename__}
    return [t for t in reversed(Base.metadata.sorted_tables) if column in t.c and t.name not in kept]


class Eraser:
    """Erases candidates; a Litestar dependency (`eraser`)."""

    def __init__(self, store: Store, bus: Bus, recordings_dir: Path, *, clock: Clock = utc_now) -> None:
        self.store = store
        self.bus = bus
        self.recordings_dir = recordings_dir
        self.clock = clock
        self._session = async_sessionmaker(store.engine, expire_on_commit=False)

    async def erase(self, candidate_id: str, who: str) -> Erasure:
        """Erase the candidate; CandidateNotFound, CandidateLive (nothing erased), or BusUnavailable (Redis is
        down: nothing erased, retry) instead."""
        interviews = await self._interviews(candidate_id)
        live = [i.id for i in interviews if i.status == InterviewStatus.LIVE]
        if live:
            raise CandidateLive(live)
        # The bus first: with Redis down the request fails before anything is gone, and can simply be retried.
        for interview in interviews:
            await self.bus.forget(interview.id)
        erasure, files, erased_ids = await self._erase_rows(candidate_id, who)
        for interview_id in set(erased_ids) - {i.id for i in interviews}:  # scheduled meanwhile: never live, but
            await self.bus.forget(interview_id)  # its history is dropped all the same
        await asyncio.to_thread(delete_files, files)
        log.info("erasure %s: candidate erased by %s (%s)", erasure.id, who, erasure.counts)
        return erasure

    async def erasures(self) -> list[Erasure]:
        async with self._session() as s:
            rows = (await s.scalars(select(ErasureRow).order_by(ErasureRow.erased_at))).all()
        return [erasure_of(r) for r in rows]

    async def _interviews(self, candidate_id: str) -> list[InterviewRow]:
        async with self._session() as s:
            if await s.get(CandidateRow, candidate_id) is None:
                raise CandidateNotFound(candidate_id)
            return list((await s.scalars(select(InterviewRow).where(InterviewRow.candidate_id == candidate_id))).all())

    async def _erase_rows(self, candidate_id: str, who: str) -> tuple[Erasure, set[Path], list[str]]:
        async with self._session() as s, s.begin():
            # Write first, then lock: the no-op UPDATE takes SQLite's write lock at once (a read first could not
            # upgrade past another writer); FOR UPDATE on PostgreSQL holds off new interviews of this candidate.
            touched = await s.execute(
                update(CandidateRow).where(CandidateRow.id == candidate_id).values(name=CandidateRow.name)
            )
            candidate = await s.scalar(select(CandidateRow).where(CandidateRow.id == candidate_id).with_for_update())
            if _rows(touched) == 0 or candidate is None:
                raise CandidateNotFound(candidate_id)
            interviews = list(
                (
                    await s.scalars(
                        select(InterviewRow).where(InterviewRow.candidate_id == candidate_id).with_for_update()
                    )
                ).all()
            )
            live = [i.id for i in interviews if i.status == InterviewStatus.LIVE]
            if live:
                raise CandidateLive(live)  # went live since the first look: the transaction rolls back
            ids = [i.id for i in interviews]
            counts: dict[str, int] = {"candidates": 1, "resumes": int(bool(candidate.resume_text))}
            counts["resume_probes"] = sum(len(i.probes or []) for i in interviews)
            counts["bus_histories"] = len(ids)
            counts["recording_files"] = 0
            files: set[Path] = set()
            if ids:
                recorded = await s.execute(
                    select(RecordingRow.interview_id, RecordingRow.path).where(RecordingRow.interview_id.in_(ids))
                )
                paths: dict[str, str | None] = dict.fromkeys(ids)
                paths.update({r.interview_id: r.path for r in recorded.all()})
                files = await asyncio.to_thread(self._recording_files, paths)
                counts["recording_files"] = len(files)
            counts.update(await self._erase_webhooks(s, [candidate_id, *ids]))
            for table in _keyed_by("interview_id"):
                counts[table.name] = _rows(await s.execute(delete(table).where(table.c.interview_id.in_(ids))))
            unlinked = await audit_log.unlink(s, candidate_id, ids)
            counts[AuditRow.__tablename__] = len(unlinked)
            counts["interviews"] = _rows(await s.execute(delete(InterviewRow).where(InterviewRow.id.in_(ids))))
            for table in _keyed_by("candidate_id"):
                counts[table.name] = _rows(await s.execute(delete(table).where(table.c.candidate_id == candidate_id)))
            await s.execute(delete(CandidateRow).where(CandidateRow.id == candidate_id))
            row = ErasureRow(id="er_" + secrets.token_hex(12), erased_at=self.clock(), who=who, counts=counts)
            s.add(row)
            await audit_log.append(s, who, ERASED, detail={"erasure_id": row.id, "unlinked": unlinked})
        return erasure_of(row), files, ids

    def _recording_files(self, paths: dict[str, str | None]) -> set[Path]:
        """The recording files there are of these interviews (blocking: run off the event loop)."""
        found: set[Path] = set()
        for interview_id, path in paths.items():
            found |= {f for f in recording_files(self.recordings_dir, interview_id, path) if f.is_file()}
        return found

    async def _erase_webhooks(self, s: AsyncSession, ids: list[str]) -> dict[str, int]:
        """Webhook events whose body names the candidate or one of their interviews, with their deliveries and
        the delivery log."""
        mentions: list[ColumnElement[bool]] = [WebhookEventRow.body.contains(i, autoescape=True) for i in ids]
        events = select(WebhookEventRow.id).where(or_(*mentions))
        # Locked first: a worker logging an attempt updates its delivery before adding the attempt, so it waits here
        # and then finds its delivery gone, instead of adding an attempt under a delivery about to be deleted.
        locked = select(WebhookDeliveryRow.id).where(WebhookDeliveryRow.event_id.in_(events)).with_for_update()
        deliveries = list((await s.scalars(locked)).all())
        attempts = _rows(
            await s.execute(delete(WebhookAttemptRow).where(WebhookAttemptRow.delivery_id.in_(deliveries)))
        )
        delivered = _rows(await s.execute(delete(WebhookDeliveryRow).where(WebhookDeliveryRow.id.in_(deliveries))))
        removed = _rows(await s.execute(delete(WebhookEventRow).where(or_(*mentions))))
        return {"webhook_events": removed, "webhook_deliveries": delivered, "webhook_attempts": attempts}
