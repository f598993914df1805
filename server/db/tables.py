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


# --- webhooks (issue 15): endpoints, the outbox of events, deliveries and every attempt at them -----------------


class WebhookEndpointRow(Base):
    """A receiver registered over REST; disabled (by a 410 or by hand) it gets nothing until enabled again."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]]
    description: Mapped[str] = mapped_column(String(200), default="")
    secret: Mapped[str] = mapped_column(String(120))
    previous_secret: Mapped[str | None] = mapped_column(String(120))  # signs too until previous_until (rotation)
    previous_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(Text)  # None: enabled
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # kept for its delivery log, never sent to
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class WebhookEventRow(Base):
    """The outbox: one row per state change, written in that change's transaction; `id` is the `webhook-id`."""

    __tablename__ = "webhook_events"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    # The transition it reports (e.g. interview.started:<interview id>): the same change never yields two events.
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    body: Mapped[str] = mapped_column(Text)  # the exact JSON that is signed and sent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookDeliveryRow(Base):
    """One event to one endpoint: its state, when it is due, and which worker holds it (a claim that expires)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("event_id", "endpoint_id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id"), index=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | delivered | failed | gone | refused
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    schedule_from: Mapped[int] = mapped_column(Integer, default=0)  # attempts before the last replay
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookAttemptRow(Base):
    """One line of the delivery log; (delivery, attempt) is unique, so no attempt is ever logged (or made) twice."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "attempt"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))  # an hr.webhooks.Outcome value
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_s: Mapped[float] = mapped_column(Float)
    response_head: Mapped[str] = mapped_column(Text)  # the first 1 KB of the answer
    error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
