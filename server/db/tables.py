"""The database tables: jobs with their plan versions, candidates, interviews with their turns and report versions,
comments and the audit log.

Plans and reports are stored as JSON documents; turns are rows, written as each one ends. A plan version is never
changed once written: an edit adds the next one, and each interview names the version it runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from server.db.status import JobStatus, RecordingStatus


class UTCDateTime(TypeDecorator[datetime]):
    """A moment, always UTC with its offset: SQLite keeps no time zone (and drops an offset it is given), so values
    are stored as UTC and read back marked UTC; PostgreSQL's timestamptz comes back in UTC too.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class JobRow(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    requirements: Mapped[list[str]]
    language: Mapped[str] = mapped_column(String(8))
    pass_threshold: Mapped[float] = mapped_column(Float)
    plan: Mapped[dict[str, Any]]  # the newest version's plan (while drafting: the rule-based stand-in)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.READY)  # a JobStatus value
    plan_version: Mapped[int] = mapped_column(Integer, default=1)  # 0 while the first plan is being drafted
    resume_probes: Mapped[int] = mapped_column(Integer, default=2)  # extra questions drawn from each résumé
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class PlanVersionRow(Base):
    """One immutable version of a job's plan: who made it (model, rules, hr) and how it went."""

    __tablename__ = "plan_versions"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan: Mapped[dict[str, Any]]
    source: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class CandidateRow(Base):
    __tablename__ = "candidates"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    resume_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class InterviewRow(Base):
    __tablename__ = "interviews"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("candidates.id"), index=True)
    mode: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), index=True)  # an InterviewStatus value
    candidate_token: Mapped[str] = mapped_column(String(64), unique=True)
    observer_token: Mapped[str] = mapped_column(String(64), unique=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(32))
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the newest of its report_versions
    plan_version: Mapped[int] = mapped_column(Integer, default=1)  # the job's plan version this interview runs
    probes: Mapped[list[Any] | None] = mapped_column(JSON)  # résumé probes (dialogue.resume_probes), None: none
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class ReportVersionRow(Base):
    """One report of an interview, never changed once written: a re-score adds the next version."""

    __tablename__ = "report_versions"
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    report: Mapped[dict[str, Any]]
    source: Mapped[str] = mapped_column(String(16))  # a ReportSource value
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class TurnRow(Base):
    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("interview_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[str] = mapped_column(String(32))
    main_question_id: Mapped[str] = mapped_column(String(32))
    question_kind: Mapped[str] = mapped_column(String(16))
    question_text: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    start: Mapped[float | None] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class CommentRow(Base):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), index=True)
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class AuditRow(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interview_id: Mapped[str | None] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class RecordingRow(Base):
    """One interview's recording: the candidate's consent, where the file is, and how recording went."""

    __tablename__ = "interview_recordings"
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), primary_key=True)
    consent: Mapped[bool | None] = mapped_column(Boolean)  # None: never asked; the default is not to record
    consent_source: Mapped[str | None] = mapped_column(String(16))  # hello | rest
    status: Mapped[str] = mapped_column(String(16), default=RecordingStatus.NONE)  # a RecordingStatus value
    path: Mapped[str | None] = mapped_column(Text)
    media_type: Mapped[str | None] = mapped_column(String(32))
    duration_s: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
