"""The candidate's recourse against an automated assessment (GDPR Art. 22(3), PIPL Art. 24): a request for a human
review or an explanation of their report, due within a set time, and HR's answer, which the candidate reads.

Plain decisions on plain values; the store that keeps requests is the caller's (server/db/reviews.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

DEFAULT_DUE = timedelta(days=14)
MAX_MESSAGE = 2000
MAX_ANSWER = 10_000


class RecourseStatus(StrEnum):
    PENDING = "pending"  # waiting for a person at the employer
    ANSWERED = "answered"  # a person reviewed the report and answered


class RecourseError(ValueError):
    """A request or answer the rules refuse; `code` is stable for programs, the message is for people."""

    code = "recourse_refused"


class ReportNotReadyError(RecourseError):
    code = "report_not_ready"


class AlreadyRequestedError(RecourseError):
    code = "recourse_exists"


class AlreadyAnsweredError(RecourseError):
    code = "recourse_answered"


@dataclass(frozen=True, slots=True)
class RecourseRequest:
    """A candidate's request, as they and HR see it."""

    id: str
    interview_id: str
    message: str | None
    status: RecourseStatus
    created_at: datetime
    due_at: datetime
    answer: str | None
    answered_at: datetime | None

    def overdue(self, now: datetime) -> bool:
        return self.status is RecourseStatus.PENDING and now > self.due_at


def request_message(text: str | None) -> str | None:
    """The candidate's optional message, trimmed; an empty one is none."""
    message = (text or "").strip() or None
    if message is not None and len(message) > MAX_MESSAGE:
        raise RecourseError(f"the message is at most {MAX_MESSAGE} characters, not {len(message)}")
    return message


def check_can_request(has_report: bool, existing: RecourseRequest | None) -> None:
    """A request is about a report, and one is enough: the candidate follows the one they made."""
    if not has_report:
        raise ReportNotReadyError("the interview has no report yet: a review can be requested once it is ready")
    if existing is not None:
        raise AlreadyRequestedError(
            f"a review was already requested on {existing.created_at:%Y-%m-%d} and is {existing.status.value}; "
            "read its status with GET on this address"
        )


def answer_text(request: RecourseRequest, text: str) -> str:
    """HR's answer to the candidate, given once: a reply the candidate has read is not rewritten."""
    if request.status is RecourseStatus.ANSWERED:
        raise AlreadyAnsweredError(f"request {request.id} was answered already")
    answer = text.strip()
    if not answer:
        raise RecourseError("the answer is empty: say what a person reviewed and what they concluded")
    if len(answer) > MAX_ANSWER:
        raise RecourseError(f"the answer is at most {MAX_ANSWER} characters")
    return answer
