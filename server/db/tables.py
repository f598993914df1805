"""The database tables: jobs with their plan versions, candidates, interviews with their turns and report versions,
comments and the audit log; hires' performance outcomes and candidates' self-identification (HR analytics).

Plans and reports are stored as JSON documents; turns are rows, written as each one ends. A plan version is never
changed once written: an edit adds the next one, and each interview names the version it runs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
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
    # Sealed (server/token_vault.py): open them with the store's vault, never compare them as stored.
    candidate_token: Mapped[str] = mapped_column(String(128), unique=True)
    observer_token: Mapped[str] = mapped_column(String(128), unique=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(32))
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the newest of its report_versions
    plan_version: Mapped[int] = mapped_column(Integer, default=1)  # the job's plan version this interview runs
    probes: Mapped[list[Any] | None] = mapped_column(JSON)  # résumé probes (dialogue.resume_probes), None: none
    # When the candidate first accepted the notice that an AI conducts and scores the interview, and how (hello |
    # rest); None: not accepted (a v1 client's hello need not say). Each acceptance is an audit entry as well.
    ai_notice_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ai_notice_source: Mapped[str | None] = mapped_column(String(8))
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
    answer: Mapped[str] = mapped_column(Text)  # what is kept and scored (a spoken answer's revised transcript)
    start: Mapped[float | None] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    heard: Mapped[str | None] = mapped_column(Text)  # the live transcript the rules decided on, once revised


class CommentRow(Base):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), index=True)
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class AuditRow(Base):
    """One audit entry, append-only and hash-chained (server/db/audit_chain.py): `row_hash` covers `seq`,
    `prev_hash`, `created_at`, `actor`, `action`, `interview_ref`, `candidate_ref` and `detail`. `interview_id`,
    `candidate_id` and their salts are outside the hash (the salted refs stand for them), so an erasure can remove
    them alone."""

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("seq", name="uq_audit_log_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer)
    interview_id: Mapped[str | None] = mapped_column(String(32), index=True)
    interview_salt: Mapped[str | None] = mapped_column(String(32))
    interview_ref: Mapped[str | None] = mapped_column(String(64))
    candidate_id: Mapped[str | None] = mapped_column(String(32), index=True)
    candidate_salt: Mapped[str | None] = mapped_column(String(32))
    candidate_ref: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now(), index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class AuditChainRow(Base):
    """The audit chain's one state row: its start (moved forward when retention prunes a prefix) and its head.
    Appends lock this row, so entries from several processes or nodes take their sequence numbers one at a time."""

    __tablename__ = "audit_chain"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_seq: Mapped[int] = mapped_column(Integer)
    start_prev_hash: Mapped[str] = mapped_column(String(64))
    head_seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))


class RecordingRow(Base):
    """One interview's recording: the candidate's consent, where the file is, and how recording went."""

    __tablename__ = "interview_recordings"
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), primary_key=True)
    consent: Mapped[bool | None] = mapped_column(Boolean)  # None: never asked; the default is not to record
    consent_source: Mapped[str | None] = mapped_column(String(16))  # hello | rest | hr: who last stated consent
    # To video as well, in video mode; None: never stated. True only with `consent`: a withdrawal takes it back too.
    video_consent: Mapped[bool | None] = mapped_column(Boolean)
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


# --- privacy (issue 14, High 5): what an erasure left behind, and each run of the retention job -------------------


class ErasureRow(Base):
    """One candidate erased: when, by whom, and how many items of each data class went. Nothing in it names or
    identifies the candidate (not even their id); the erase request's answer gives the caller this row's id."""

    __tablename__ = "erasures"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    who: Mapped[str] = mapped_column(String(64))  # the principal: "bootstrap-admin" (the settings key) or "user:<id>"
    counts: Mapped[dict[str, Any]]  # data class -> items removed (candidates, interviews, turns, recording_files, ...)


class RetentionRunRow(Base):
    """One run of the retention job on one node: the limits it applied and what it deleted, so operators see it ran."""

    __tablename__ = "retention_runs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    node: Mapped[str] = mapped_column(String(120))  # host and process id
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    limits: Mapped[dict[str, Any]]  # data class -> days kept (0: kept until erased)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # data class -> items deleted; None while running
    error: Mapped[str | None] = mapped_column(Text)  # why the run stopped early, if it did


# --- HR analytics (issue 16): hires' performance outcomes, and self-identification kept apart from the interview --


class OutcomeRow(Base):
    """One performance result of a hire, linked to the interview that assessed them (a hire may be rated again:
    each rating is a row; the studies use the newest)."""

    __tablename__ = "performance_outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    rated_at: Mapped[date] = mapped_column(Date)
    # Whoever rated the performance could see the interview scores: their rating may echo the interview.
    rater_saw_interview_scores: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class DemographicsRow(Base):
    """A candidate's voluntary self-identification, for the bias audit only: no prompt, scorer or interview reads
    it (server/db/demographics.py is its only reader; tests/server/test_server_demographics.py holds that)."""

    __tablename__ = "candidate_demographics"
    candidate_id: Mapped[str] = mapped_column(ForeignKey("candidates.id"), primary_key=True)
    sex: Mapped[str] = mapped_column(String(64))  # a category of server.db.demographics, or "Decline to answer"
    race_ethnicity: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


# --- invitations and e-mail (issue 15, items 1 and 4): invitations with their links, Idempotency-Keys, the mail outbox


class TokenKeyRow(Base):
    """The fingerprint (an HMAC, not the key) of the key this database's tokens are sealed with: one row."""

    __tablename__ = "token_key"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))


class InvitationRow(Base):
    """A candidate invited to a job, with the interview their link opens; the link closes at `expires_at` or when
    revoked."""

    __tablename__ = "invitations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("candidates.id"), index=True)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), unique=True)
    token: Mapped[str] = mapped_column(String(128), unique=True)  # the link's secret, sealed (server/token_vault.py)
    language: Mapped[str] = mapped_column(String(8))
    mode: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mail_id: Mapped[str | None] = mapped_column(String(40))  # its e-mail in mail_outbox; None: no address


class IdempotencyKeyRow(Base):
    """An Idempotency-Key of a POST: the body's fingerprint, and the answer once given (None while in progress)."""

    __tablename__ = "idempotency_keys"
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)  # the operation, e.g. "POST /v1/invitations"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime] = mapped_column(UTCDateTime())  # an unanswered key is free again after this
    status_code: Mapped[int | None] = mapped_column(Integer)
    answer: Mapped[str | None] = mapped_column(Text)


class MailRow(Base):
    """One e-mail, written in the transaction that decided to send it: sent by the SMTP worker when SMTP is set,
    otherwise `held` here for HR to read over REST."""

    __tablename__ = "mail_outbox"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)  # what it is about, e.g. invitation:<id>
    kind: Mapped[str] = mapped_column(String(32))  # invitation, ...
    # The candidate it is written to, if one: erasing them erases it (server/privacy/erasure.py finds the column).
    candidate_id: Mapped[str | None] = mapped_column(String(32), index=True)
    to_address: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)  # the whole RFC 5322 message as sent
    state: Mapped[str] = mapped_column(String(16), index=True)  # held | pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


# --- reviews, share links and recourse (issue 15, items 5, 6 and 8)


class ReviewPolicyRow(Base):
    """A job's reviewers (notified when a report is ready) and whether their reviews are blind."""

    __tablename__ = "review_policies"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    reviewers: Mapped[list[Any]] = mapped_column(JSON)  # [{"name": ..., "email": ...}], as hr.reviews.Reviewer
    blind: Mapped[bool] = mapped_column(Boolean)  # hide the AI score and others' scorecards until one's own is in
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReviewTaskRow(Base):
    """Someone is asked to review an interview: a job's reviewer once its report is ready, or HR because the
    candidate asked for a human review (recourse); `closed_at` once done."""

    __tablename__ = "review_tasks"
    __table_args__ = (UniqueConstraint("interview_id", "reason", "reviewer_email"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), index=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    reason: Mapped[str] = mapped_column(String(24))  # report_ready | candidate_request
    reviewer_name: Mapped[str | None] = mapped_column(String(200))  # None for a candidate's request (HR answers)
    reviewer_email: Mapped[str] = mapped_column(String(320))  # "" for a candidate's request
    message: Mapped[str | None] = mapped_column(Text)  # the candidate's message with a request
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | done
    response: Mapped[str | None] = mapped_column(Text)  # HR's answer to a candidate's request
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ScorecardRow(Base):
    """One person's scorecard of an interview, never changed once written: a reviewer's, or a hiring manager's left
    through a share link (`share_id`)."""

    __tablename__ = "scorecards"
    __table_args__ = (UniqueConstraint("interview_id", "reviewer_email"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), index=True)
    reviewer_name: Mapped[str] = mapped_column(String(200))
    reviewer_email: Mapped[str] = mapped_column(String(320))
    share_id: Mapped[str | None] = mapped_column(String(40))
    ratings: Mapped[dict[str, Any]]  # dimension id -> 1..4
    recommendation: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ShareLinkRow(Base):
    """A read-only link to one interview for a hiring manager; only its token's SHA-256 is kept."""

    __tablename__ = "share_links"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# --- hand-offs (issue 16, item 1): offer suggestions for HR to approve, the course catalogue, jobs' competency maps and
# hires' course recommendations


class OfferSuggestionRow(Base):
    """An offer suggested by a positive human review (hr.offers), pending until a named person approves or rejects
    it; only an approval sends it on (`offer.suggested`). One per interview."""

    __tablename__ = "offer_suggestions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), unique=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    candidate_id: Mapped[str] = mapped_column(String(32), index=True)
    role: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))  # junior | mid | senior
    level_reason: Mapped[str] = mapped_column(Text)
    start_earliest: Mapped[date] = mapped_column(Date)
    start_latest: Mapped[date] = mapped_column(Date)
    scorecard_ids: Mapped[list[str]]  # the scorecards that made the review positive
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | approved | rejected
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class CourseRow(Base):
    """One course of the catalogue HR uploads (an upload replaces the whole catalogue)."""

    __tablename__ = "training_courses"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    competencies: Mapped[list[str]]  # the competency ids it trains
    url: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(32))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CompetencyMapRow(Base):
    """A job's dimensions mapped to competency ids, and the score under which a hire's dimension is weak."""

    __tablename__ = "job_competency_maps"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    dimensions: Mapped[dict[str, Any]]  # dimension name -> [competency id]
    weak_below: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TrainingRecommendationRow(Base):
    """A hire's weak dimensions with their courses and reasons, as recommended at `created_at` (`training.recommended`)."""

    __tablename__ = "training_recommendations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), index=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    candidate_id: Mapped[str] = mapped_column(String(32), index=True)
    weak_below: Mapped[float] = mapped_column(Float)
    dimensions: Mapped[list[Any]] = mapped_column(JSON)  # per weak dimension: score, evidence, competencies, courses
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


# --- self-scheduling and reminders (issue 15, items 2 and 3)


class AvailabilityRow(Base):
    """When a job's interviews may be booked (hr.scheduling.Availability), or, with `deadline` set, the "any time
    before" mode that offers no slots."""

    __tablename__ = "job_availability"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    weekly: Mapped[list[Any]] = mapped_column(JSON)  # [weekday, "HH:MM", "HH:MM"] each
    overrides: Mapped[list[Any]] = mapped_column(JSON)  # ["YYYY-MM-DD", [["HH:MM", "HH:MM"], ...]] each
    slot_minutes: Mapped[int] = mapped_column(Integer)
    seats: Mapped[int] = mapped_column(Integer)
    min_notice_s: Mapped[int] = mapped_column(Integer)
    horizon_s: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BookingRow(Base):
    """A candidate's booked interview time; `revision` is its calendar invitation's SEQUENCE."""

    __tablename__ = "bookings"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), index=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    candidate_id: Mapped[str] = mapped_column(String(32), index=True)
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime())
    slot_end: Mapped[datetime] = mapped_column(UTCDateTime())
    time_zone: Mapped[str] = mapped_column(String(64))  # the availability's
    shown_zone: Mapped[str] = mapped_column(String(64))  # the candidate's, for the times in their e-mails
    status: Mapped[str] = mapped_column(String(16), index=True)  # confirmed | cancelled
    revision: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SeatRow(Base):
    """One taken seat of one slot: a confirmed booking's, or a hold until `hold_until`. The primary key is the seat
    ledger's guarantee: two transactions taking the same seat of a slot cannot both commit."""

    __tablename__ = "slot_seats"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    seat: Mapped[int] = mapped_column(Integer, primary_key=True)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), index=True)
    booking_id: Mapped[str | None] = mapped_column(String(40), index=True)  # None while a hold
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReminderRow(Base):
    """A reminder e-mail planned for a booking (hr.reminders), sent at most once by a reminder worker."""

    __tablename__ = "booking_reminders"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # hr.reminders.Reminder.key
    booking_id: Mapped[str] = mapped_column(ForeignKey("bookings.id"), index=True)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    offset_s: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | sent | skipped | dropped
    mail_id: Mapped[str | None] = mapped_column(String(40))
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# --- people and roles (issue 14, item 8)


class UserRow(Base):
    """A person who calls the HR API with their own keys, in one role (server/people.py), limited to the jobs in
    `user_jobs` unless `all_jobs`."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | recruiter | reviewer | observer
    all_jobs: Mapped[bool] = mapped_column(Boolean)
    disabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UserJobRow(Base):
    """One job a user may see and act on."""

    __tablename__ = "user_jobs"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True, index=True)


class ApiKeyRow(Base):
    """A user's API key: only its SHA-256 is kept; the id is the key's visible part (`shm_<id>_...`), so a key is
    found by its id and its hash compared in constant time."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# --- ownership of live interviews between nodes (issue 14 point 4): server/db/leases.py -----------------------------


class LeaseRow(Base):
    """Which node runs a live interview, until when, under which fence: every write of the session compares it."""

    __tablename__ = "interview_leases"
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id"), primary_key=True)
    node: Mapped[str] = mapped_column(String(120))  # host, process id and a random part (server.db.leases.NODE)
    fence: Mapped[int] = mapped_column(Integer)  # raised by every takeover; a write under a lower one is refused
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())
