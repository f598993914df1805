"""The export of everything held about a candidate (`GET /v1/candidates/{id}/export`): its format and the zip.

The zip holds `data.json` (the candidate with their self-identification form if given and the audit entries about
them, each interview with its AI notice acceptance, turns, every report version, comments, its recording's state,
audit entries and performance ratings) and each recording file under `recordings/`, byte for byte. Credentials
(the interviews' candidate and observer tokens) are left out: they are keys, not data about the person.
"""

from __future__ import annotations

import tempfile
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.db.store import Store
from server.db.tables import (
    AuditRow,
    CandidateRow,
    CommentRow,
    DemographicsRow,
    InterviewRow,
    JobRow,
    OutcomeRow,
    RecordingRow,
    ReportVersionRow,
    TurnRow,
)

FORMAT = "shanmian-candidate-export/1"


class TurnExport(msgspec.Struct):
    seq: int
    question_id: str
    main_question_id: str
    question_kind: str
    question_text: str
    answer: str
    start: float | None
    end: float | None
    created_at: datetime
    heard: str | None = None  # the live transcript, where `answer` is the spoken answer's revised one


class ReportExport(msgspec.Struct):
    version: int
    source: str
    created_at: datetime
    report: dict[str, Any]


class CommentExport(msgspec.Struct):
    author: str
    text: str
    created_at: datetime


class AuditExport(msgspec.Struct):
    actor: str
    action: str
    detail: dict[str, Any] | None
    created_at: datetime


class RecordingExport(msgspec.Struct):
    consent: bool | None
    video_consent: bool | None  # None: never stated
    consent_source: str | None
    status: str
    media_type: str | None
    duration_s: float | None
    note: str | None
    updated_at: datetime
    file: str | None  # its path inside the zip; None when there is no file (any more)


class InterviewExport(msgspec.Struct):
    id: str
    job_id: str
    job_title: str | None
    mode: str
    status: str
    plan_version: int
    resume_probes: list[Any] | None
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    ai_notice_accepted_at: datetime | None  # None: the notice was not accepted (a v1 client need not send it)
    ai_notice_source: str | None  # hello | rest
    created_at: datetime
    turns: list[TurnExport]
    reports: list[ReportExport]
    comments: list[CommentExport]
    recording: RecordingExport | None
    audit: list[AuditExport]
    performance: list[OutcomeExport]


class OutcomeExport(msgspec.Struct):
    score: float
    rated_at: date
    rater_saw_interview_scores: bool
    created_at: datetime


class SelfIdentificationExport(msgspec.Struct):
    sex: str
    race_ethnicity: str
    updated_at: datetime


class CandidateData(msgspec.Struct):
    id: str
    name: str
    email: str | None
    resume_text: str | None
    created_at: datetime
    # The voluntary form for the bias audit (stored apart from the interviews); None if never given.
    self_identification: SelfIdentificationExport | None
    # Audit entries about the candidate that no interview stands for (created, self-identified, read before any
    # interview); each interview's own are under it.
    audit: list[AuditExport]


class CandidateExport(msgspec.Struct):
    """data.json"""

    format: str
    exported_at: datetime
    candidate: CandidateData
    interviews: list[InterviewExport]


class ExportedFile(msgspec.Struct, frozen=True):
    name: str  # inside the zip
    path: Path  # on disk


def _turn(t: TurnRow) -> TurnExport:
    return TurnExport(
        t.seq,
        t.question_id,
        t.main_question_id,
        t.question_kind,
        t.question_text,
        t.answer,
        t.start,
        t.end,
        t.created_at,
        t.heard,
    )


async def gather(store: Store, candidate_id: str) -> tuple[CandidateExport, list[ExportedFile]] | None:
    """What is held about the candidate, read in one transaction, with the recording files to include; None for
    an unknown (or erased) candidate."""
    session = async_sessionmaker(store.engine, expire_on_commit=False)
    async with session() as s, s.begin():
        candidate = await s.get(CandidateRow, candidate_id)
        if candidate is None:
            return None
        rows = (
            await s.scalars(
                select(InterviewRow).where(InterviewRow.candidate_id == candidate_id).order_by(InterviewRow.created_at)
            )
        ).all()
        interviews: list[InterviewExport] = []
        files: list[ExportedFile] = []
        for iv in rows:
            job = await s.get(JobRow, iv.job_id)
            turns = (await s.scalars(select(TurnRow).where(TurnRow.interview_id == iv.id).order_by(TurnRow.seq))).all()
            reports = (
                await s.scalars(
                    select(ReportVersionRow)
                    .where(ReportVersionRow.interview_id == iv.id)
                    .order_by(ReportVersionRow.version)
                )
            ).all()
            comments = (
                await s.scalars(select(CommentRow).where(CommentRow.interview_id == iv.id).order_by(CommentRow.id))
            ).all()
            audit = (
                await s.scalars(select(AuditRow).where(AuditRow.interview_id == iv.id).order_by(AuditRow.id))
            ).all()
            outcomes = (
                await s.scalars(select(OutcomeRow).where(OutcomeRow.interview_id == iv.id).order_by(OutcomeRow.id))
            ).all()
            rec = await s.get(RecordingRow, iv.id)
            recording = None
            if rec is not None:
                name = None
                if rec.path:
                    name = f"recordings/{iv.id}{Path(rec.path).suffix}"
                    files.append(ExportedFile(name, Path(rec.path)))
                recording = RecordingExport(
                    rec.consent, rec.video_consent, rec.consent_source, rec.status, rec.media_type, rec.duration_s,
                    rec.note, rec.updated_at, name,
                )  # fmt: skip
            interviews.append(
                InterviewExport(
                    id=iv.id,
                    job_id=iv.job_id,
                    job_title=job.title if job is not None else None,
                    mode=iv.mode,
                    status=iv.status,
                    plan_version=iv.plan_version,
                    resume_probes=iv.probes,
                    scheduled_at=iv.scheduled_at,
                    started_at=iv.started_at,
                    ended_at=iv.ended_at,
                    end_reason=iv.end_reason,
                    ai_notice_accepted_at=iv.ai_notice_accepted_at,
                    ai_notice_source=iv.ai_notice_source,
                    created_at=iv.created_at,
                    turns=[_turn(t) for t in turns],
                    reports=[ReportExport(r.version, r.source, r.created_at, r.report) for r in reports],
                    comments=[CommentExport(c.author, c.text, c.created_at) for c in comments],
                    recording=recording,
                    audit=[AuditExport(a.actor, a.action, a.detail, a.created_at) for a in audit],
                    performance=[
                        OutcomeExport(o.score, o.rated_at, o.rater_saw_interview_scores, o.created_at) for o in outcomes
                    ],
                )
            )
        about = (
            await s.scalars(select(AuditRow).where(AuditRow.candidate_id == candidate_id).order_by(AuditRow.seq))
        ).all()
        form = await s.get(DemographicsRow, candidate_id)
        identified = None if form is None else SelfIdentificationExport(form.sex, form.race_ethnicity, form.updated_at)
    data = CandidateData(
        candidate.id, candidate.name, candidate.email, candidate.resume_text, candidate.created_at, identified,
        [AuditExport(a.actor, a.action, a.detail, a.created_at) for a in about],
    )  # fmt: skip
    return CandidateExport(FORMAT, datetime.now(UTC), data, interviews), files


def write_zip(export: CandidateExport, files: list[ExportedFile]) -> tuple[Path, list[str]]:
    """The zip in a temporary file the caller deletes once sent (blocking: run it off the event loop); also the
    recording files that were missing on disk (their `file` is then None in data.json)."""
    missing = [f.name for f in files if not f.path.is_file()]
    if missing:
        for interview in export.interviews:
            if interview.recording is not None and interview.recording.file in missing:
                interview.recording.file = None
    handle = tempfile.NamedTemporaryFile(prefix="shanmian-export-", suffix=".zip", delete=False)  # noqa: SIM115
    path = Path(handle.name)
    try:
        with handle, zipfile.ZipFile(handle, "w") as archive:
            archive.writestr("data.json", msgspec.json.format(msgspec.json.encode(export)), zipfile.ZIP_DEFLATED)
            for f in files:
                if f.name not in missing:
                    archive.write(f.path, f.name, zipfile.ZIP_STORED)  # Opus and WebM are compressed already
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, missing
