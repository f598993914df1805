"""The webhook events: one typed payload per event type, and the signed message body they become.

The body is the Standard Webhooks envelope `{"type", "timestamp", "data"}`; fields may be added, never renamed.
Payloads carry ids and times, not personal data: a receiver fetches what it needs with its API key.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Literal

Recommendation = Literal["strong_yes", "yes", "no", "definitely_not", "no_decision"]
Requester = Literal["candidate", "hr"]


def doc(text: str) -> dict[str, str]:
    """A payload field's metadata: its description, which the JSON Schema shows."""
    return {"description": text}


@dataclass(frozen=True, slots=True)
class CandidateInvited:
    TYPE: ClassVar[str] = "candidate.invited"
    invitation_id: str = field(metadata=doc("The invitation; its link lets the candidate book without logging in."))
    job_id: str = field(metadata=doc("The job the candidate is invited to."))
    candidate_id: str = field(metadata=doc("The candidate."))
    language: Literal["en", "zh"] = field(metadata=doc("The language of the invitation and of the interview."))
    expires_at: datetime = field(metadata=doc("When the invitation link stops working."))


@dataclass(frozen=True, slots=True)
class InterviewScheduled:
    TYPE: ClassVar[str] = "interview.scheduled"
    interview_id: str = field(metadata=doc("The interview."))
    job_id: str = field(metadata=doc("The job."))
    candidate_id: str = field(metadata=doc("The candidate."))
    booking_id: str = field(metadata=doc("The booking; its calendar invitation's UID is derived from it."))
    starts_at: datetime = field(metadata=doc("When the interview starts."))
    ends_at: datetime = field(metadata=doc("When it is planned to end."))
    time_zone: str = field(metadata=doc("The IANA time zone the slot was offered in, e.g. Asia/Shanghai."))


@dataclass(frozen=True, slots=True)
class InterviewRescheduled:
    TYPE: ClassVar[str] = "interview.rescheduled"
    interview_id: str = field(metadata=doc("The interview."))
    job_id: str = field(metadata=doc("The job."))
    candidate_id: str = field(metadata=doc("The candidate."))
    booking_id: str = field(metadata=doc("The booking (unchanged by a reschedule)."))
    starts_at: datetime = field(metadata=doc("The new start."))
    ends_at: datetime = field(metadata=doc("The new planned end."))
    time_zone: str = field(metadata=doc("The IANA time zone the slot was offered in."))
    previous_starts_at: datetime = field(metadata=doc("The start it replaces."))


@dataclass(frozen=True, slots=True)
class InterviewCancelled:
    TYPE: ClassVar[str] = "interview.cancelled"
    interview_id: str = field(metadata=doc("The interview."))
    job_id: str = field(metadata=doc("The job."))
    candidate_id: str = field(metadata=doc("The candidate."))
    booking_id: str = field(metadata=doc("The cancelled booking."))
    cancelled_by: Requester = field(metadata=doc("Who cancelled it."))
    reason: str | None = field(metadata=doc("The reason given, if any."))


@dataclass(frozen=True, slots=True)
class InterviewStarted:
    TYPE: ClassVar[str] = "interview.started"
    interview_id: str = field(metadata=doc("The interview; the event's timestamp is when it started."))
    job_id: str = field(metadata=doc("The job."))
    candidate_id: str = field(metadata=doc("The candidate."))


@dataclass(frozen=True, slots=True)
class InterviewCompleted:
    TYPE: ClassVar[str] = "interview.completed"
    interview_id: str = field(metadata=doc("The interview; the event's timestamp is when it ended."))
    job_id: str = field(metadata=doc("The job."))
    candidate_id: str = field(metadata=doc("The candidate."))
    duration_s: float = field(metadata=doc("Seconds from start to end."))


@dataclass(frozen=True, slots=True)
class InterviewAbandoned:
    TYPE: ClassVar[str] = "interview.abandoned"
    interview_id: str = field(metadata=doc("The interview; the event's timestamp is when it was given up."))
    job_id: str = field(metadata=doc("The job."))
    candidate_id: str = field(metadata=doc("The candidate."))
    questions_answered: int = field(metadata=doc("Main questions answered before the candidate left."))


@dataclass(frozen=True, slots=True)
class ReportReady:
    TYPE: ClassVar[str] = "report.ready"
    interview_id: str = field(metadata=doc("The interview."))
    job_id: str = field(metadata=doc("The job."))
    candidate_id: str = field(metadata=doc("The candidate."))
    report_url: str = field(metadata=doc("Where the report is read over the API (needs an API key)."))


@dataclass(frozen=True, slots=True)
class ReviewRequested:
    TYPE: ClassVar[str] = "review.requested"
    review_id: str = field(metadata=doc("The review task."))
    interview_id: str = field(metadata=doc("The interview to review."))
    job_id: str = field(metadata=doc("The job."))
    requested_by: Requester = field(metadata=doc("`candidate` when the candidate contests the automated assessment."))
    due_at: datetime = field(metadata=doc("When the review is due."))


@dataclass(frozen=True, slots=True)
class ReviewSubmitted:
    TYPE: ClassVar[str] = "review.submitted"
    review_id: str = field(metadata=doc("The review."))
    interview_id: str = field(metadata=doc("The interview reviewed."))
    job_id: str = field(metadata=doc("The job."))
    reviewer_id: str = field(metadata=doc("The person who reviewed."))
    recommendation: Recommendation = field(metadata=doc("Their overall recommendation."))


@dataclass(frozen=True, slots=True)
class PlanVersionCreated:
    TYPE: ClassVar[str] = "plan.version_created"
    plan_id: str = field(metadata=doc("The interview plan."))
    job_id: str = field(metadata=doc("The job it belongs to."))
    version: int = field(metadata=doc("The new version number."))
    created_by: str = field(metadata=doc("The person who created or approved it."))
    reason: str | None = field(metadata=doc("Why, e.g. an approved weight proposal."))


@dataclass(frozen=True, slots=True)
class OfferSuggested:
    TYPE: ClassVar[str] = "offer.suggested"
    suggestion_id: str = field(metadata=doc("The offer suggestion, sent once a named person at HR approved it."))
    interview_id: str = field(metadata=doc("The interview whose human review was positive."))
    job_id: str = field(metadata=doc("The job."))
    candidate_id: str = field(metadata=doc("The candidate."))
    role: str = field(metadata=doc("The role to offer: the job's title."))
    level: Literal["junior", "mid", "senior"] = field(
        metadata=doc("The level hint from the report's overall score and dimension bands; HR's to change.")
    )
    start_earliest: str = field(metadata=doc("The start-date window's first day, YYYY-MM-DD."))
    start_latest: str = field(metadata=doc("The start-date window's last day, YYYY-MM-DD."))
    approved_at: datetime = field(metadata=doc("When HR approved the suggestion."))


@dataclass(frozen=True, slots=True)
class TrainingRecommended:
    TYPE: ClassVar[str] = "training.recommended"
    recommendation_id: str = field(metadata=doc("The recommendation: the hire's weak dimensions and their courses."))
    interview_id: str = field(metadata=doc("The interview that assessed the hire."))
    job_id: str = field(metadata=doc("The job."))
    candidate_id: str = field(metadata=doc("The hire."))
    weak_dimensions: int = field(metadata=doc("Dimensions scored below the job's bar."))
    courses: int = field(metadata=doc("Courses recommended, over all weak dimensions."))
    recommendation_url: str = field(
        metadata=doc("Where the courses, each with its reason, are read over the API (needs an API key).")
    )


EventPayload = (
    CandidateInvited
    | InterviewScheduled
    | InterviewRescheduled
    | InterviewCancelled
    | InterviewStarted
    | InterviewCompleted
    | InterviewAbandoned
    | ReportReady
    | ReviewRequested
    | ReviewSubmitted
    | PlanVersionCreated
    | OfferSuggested
    | TrainingRecommended
)
PAYLOADS: tuple[type[EventPayload], ...] = (
    CandidateInvited,
    InterviewScheduled,
    InterviewRescheduled,
    InterviewCancelled,
    InterviewStarted,
    InterviewCompleted,
    InterviewAbandoned,
    ReportReady,
    ReviewRequested,
    ReviewSubmitted,
    PlanVersionCreated,
    OfferSuggested,
    TrainingRecommended,
)
EVENT_TYPES: frozenset[str] = frozenset(p.TYPE for p in PAYLOADS)


@dataclass(frozen=True, slots=True)
class WebhookMessage:
    """One event as sent: the id every retry repeats, its type for routing, the exact bytes that are signed."""

    id: str
    event_type: str
    body: bytes


def utc_text(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("webhook times are aware datetimes")
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json_value(value: object) -> object:
    return utc_text(value) if isinstance(value, datetime) else value


def message_for(payload: EventPayload, at: datetime) -> WebhookMessage:
    """The message for one event that happened at `at`, with a fresh id."""
    data = {f.name: _json_value(getattr(payload, f.name)) for f in dataclasses.fields(payload)}
    body = json.dumps({"type": payload.TYPE, "timestamp": utc_text(at), "data": data}, ensure_ascii=False)
    return WebhookMessage(id="msg_" + secrets.token_urlsafe(18), event_type=payload.TYPE, body=body.encode())
