"""hr.recourse: the candidate's message, the one request per report, HR's single answer, and when one is overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hr.recourse import (
    AlreadyAnsweredError,
    AlreadyRequestedError,
    RecourseError,
    RecourseRequest,
    RecourseStatus,
    ReportNotReadyError,
    answer_text,
    check_can_request,
    request_message,
)

NOW = datetime(2027, 5, 10, 12, 0, tzinfo=UTC)


def _request(status: RecourseStatus = RecourseStatus.PENDING) -> RecourseRequest:
    return RecourseRequest("rcr_1", "iv1", "Please explain", status, NOW, NOW + timedelta(days=14), None, None)


def test_the_message_is_trimmed_and_an_empty_one_is_none() -> None:
    assert request_message("  Why was my SQL rated low?\n") == "Why was my SQL rated low?"
    assert request_message("   ") is None and request_message(None) is None


def test_a_message_over_2000_characters_is_refused() -> None:
    with pytest.raises(RecourseError, match="at most 2000 characters, not 2001"):
        request_message("x" * 2001)


def test_a_request_needs_a_report() -> None:
    with pytest.raises(ReportNotReadyError, match="no report yet"):
        check_can_request(False, None)
    check_can_request(True, None)


def test_a_second_request_is_refused_naming_the_first_and_its_status() -> None:
    with pytest.raises(AlreadyRequestedError, match="already requested on 2027-05-10 and is pending"):
        check_can_request(True, _request())


def test_an_answer_is_given_once_and_never_empty() -> None:
    assert answer_text(_request(), "  A recruiter re-read your answers.  ") == "A recruiter re-read your answers."
    with pytest.raises(RecourseError, match="the answer is empty"):
        answer_text(_request(), " \n ")
    with pytest.raises(AlreadyAnsweredError, match="rcr_1 was answered already"):
        answer_text(_request(RecourseStatus.ANSWERED), "again")


def test_a_pending_request_is_overdue_only_after_its_due_date() -> None:
    pending = _request()
    assert not pending.overdue(NOW + timedelta(days=14))
    assert pending.overdue(NOW + timedelta(days=14, seconds=1))
    assert not _request(RecourseStatus.ANSWERED).overdue(NOW + timedelta(days=30))
