"""The reminder e-mail says how far off the interview is and when, in the candidate's zone, in English or Chinese."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hr.calendar_invite import Invitation, Person
from hr.reminder_email import lead_text, reminder_email
from hr.reminders import Reminder

START = datetime(2027, 3, 14, 13, 0, tzinfo=UTC)


def _invitation(language: str) -> Invitation:
    return Invitation(
        job_title="数据工程师" if language == "zh" else "Data engineer",
        language="zh" if language == "zh" else "en",
        join_url="https://interviews.example/join/iv1?token=t",
        organizer=Person("hr@example.com", "Acme HR"),
        candidate=Person("li@example.com", "Li Lei"),
        uid_domain="example.com",
    )


@pytest.mark.parametrize(
    ("offset", "language", "text"),
    [
        (timedelta(hours=24), "en", "24 hours"),
        (timedelta(hours=1), "en", "1 hour"),
        (timedelta(minutes=30), "en", "30 minutes"),
        (timedelta(hours=24), "zh", "24小时"),
        (timedelta(minutes=90), "zh", "90分钟"),
    ],
)
def test_the_lead_time_reads_naturally(offset: timedelta, language: str, text: str) -> None:
    assert lead_text(offset, language) == text


def test_an_english_reminder_names_the_job_the_lead_and_the_local_time_with_the_link() -> None:
    message = reminder_email(Reminder("bk1", START, timedelta(hours=1)), _invitation("en"), START, "America/New_York")
    assert str(message["Subject"]) == (
        "Reminder: your interview for Data engineer is in 1 hour (Sun 14 Mar 2027, 09:00 (America/New_York))"
    )
    assert "li@example.com" in str(message["To"]) and "hr@example.com" in str(message["From"])
    assert "https://interviews.example/join/iv1?token=t" in message.get_content()


def test_a_chinese_reminder_shows_the_time_in_shanghai() -> None:
    message = reminder_email(Reminder("bk1", START, timedelta(hours=24)), _invitation("zh"), START, "Asia/Shanghai")
    assert str(message["Subject"]) == "提醒：您的数据工程师面试将在24小时后开始（2027年3月14日 21:00（Asia/Shanghai））"
    assert "Li Lei，您好" in message.get_content()
