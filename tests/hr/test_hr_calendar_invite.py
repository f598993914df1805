"""Invitations parsed back with icalendar: UID, SEQUENCE, METHOD, times, people, the alarm and both languages.

Also the e-mail that carries them (hr/email_message.py), sent through a real SMTP server (aiosmtpd) and read back.
"""

from __future__ import annotations

import email
import smtplib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from icalendar import Calendar, Event

from hr.calendar_invite import Invitation, Person, invitation_ics
from hr.email_message import booking_email
from hr.scheduling import Booking, BookingStatus, Slot

NOW = datetime(2027, 3, 10, 8, tzinfo=UTC)
START = datetime(2027, 3, 14, 13, tzinfo=UTC)
BOOKING = Booking(
    id="bk_7Qx",
    candidate_id="cand_1",
    slot=Slot(START, START + timedelta(minutes=30)),
    time_zone="America/New_York",
    status=BookingStatus.CONFIRMED,
    revision=0,
    changed_at=NOW,
)
INVITATION = Invitation(
    job_title="Warehouse Supervisor",
    language="en",
    join_url="https://interviews.example.com/i/tok_abc",
    organizer=Person("hiring@example.com", "Example Co. Hiring"),
    candidate=Person("li.wei@example.org", "李伟"),
    uid_domain="interviews.example.com",
)


def parse(ics: bytes) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(ics)
    events = calendar.walk("VEVENT")
    assert len(events) == 1 and isinstance(events[0], Event)
    return calendar, events[0]


def test_a_booking_becomes_a_request_with_its_times_people_and_link() -> None:
    calendar, event = parse(invitation_ics(BOOKING, INVITATION, NOW))

    assert str(calendar["method"]) == "REQUEST"
    assert str(event["uid"]) == "bk_7Qx@interviews.example.com"
    assert event.sequence == 0
    assert event.decoded("dtstart") == START
    assert event.decoded("dtend") == START + timedelta(minutes=30)
    assert event.decoded("dtstamp") == NOW
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["summary"]) == "Interview: Warehouse Supervisor (AI interviewer)"
    assert INVITATION.join_url in str(event["description"]) and str(event["url"]) == INVITATION.join_url
    assert str(event["organizer"]) == "mailto:hiring@example.com"
    attendee = event["attendee"]
    assert str(attendee) == "mailto:li.wei@example.org"
    assert attendee.params["CN"] == "李伟" and attendee.params["PARTSTAT"] == "ACCEPTED"


def test_the_request_carries_an_alarm_fifteen_minutes_before() -> None:
    _, event = parse(invitation_ics(BOOKING, INVITATION, NOW))
    (alarm,) = event.walk("VALARM")
    assert str(alarm["action"]) == "DISPLAY"
    assert alarm.decoded("trigger") == timedelta(minutes=-15)
    assert "starts soon" in str(alarm["description"])


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence() -> None:
    later = START + timedelta(days=1)
    moved = replace(BOOKING, slot=Slot(later, later + timedelta(minutes=30)), revision=1)
    _, before = parse(invitation_ics(BOOKING, INVITATION, NOW))
    calendar, after = parse(invitation_ics(moved, INVITATION, NOW + timedelta(hours=1)))

    assert str(calendar["method"]) == "REQUEST"
    assert str(after["uid"]) == str(before["uid"])
    assert after.sequence == before.sequence + 1
    assert after.decoded("dtstart") == later


def test_a_cancellation_is_method_cancel_with_the_same_uid_a_higher_sequence_and_no_alarm() -> None:
    cancelled = replace(BOOKING, status=BookingStatus.CANCELLED, revision=2)
    calendar, event = parse(invitation_ics(cancelled, INVITATION, NOW))

    assert str(calendar["method"]) == "CANCEL"
    assert str(event["status"]) == "CANCELLED"
    assert str(event["uid"]) == "bk_7Qx@interviews.example.com" and event.sequence == 2
    assert event.walk("VALARM") == []


def test_a_chinese_job_gets_chinese_summary_description_and_alarm() -> None:
    zh = replace(INVITATION, job_title="仓库主管", language="zh", alarm_before=timedelta(minutes=30))
    _, event = parse(invitation_ics(BOOKING, zh, NOW))

    assert str(event["summary"]) == "面试：仓库主管（AI 面试官）"
    assert "如需改期或取消" in str(event["description"])
    (alarm,) = event.walk("VALARM")
    assert "即将开始" in str(alarm["description"]) and alarm.decoded("trigger") == timedelta(minutes=-30)


class Inbox:
    """An aiosmtpd handler that keeps every message's raw bytes."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(envelope.content)
        return "250 OK"


def through_smtp(message: EmailMessage, port: int) -> EmailMessage:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(message)
    finally:
        controller.stop()
    (raw,) = inbox.messages
    received = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(received, EmailMessage)
    return received


def calendar_part(message: EmailMessage) -> tuple[str | None, bytes]:
    """The calendar part's `method` parameter and its decoded bytes."""
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    ics = part.get_payload(decode=True)
    assert isinstance(ics, bytes)
    method = part.get_param("method")
    return (method if isinstance(method, str) else None), ics


def test_the_booking_email_arrives_with_the_time_in_the_candidates_zone_and_a_parsable_invite(
    free_port: Callable[[], int],
) -> None:
    received = through_smtp(booking_email(BOOKING, INVITATION, NOW, "Asia/Shanghai"), free_port())

    assert received["To"].addresses[0].username == "li.wei" and received["To"].addresses[0].display_name == "李伟"
    assert received["Subject"] == "Your interview for Warehouse Supervisor: Sun 14 Mar 2027, 21:00 (Asia/Shanghai)"
    text = received.get_body(("plain",))
    assert text is not None and INVITATION.join_url in text.get_content()
    method, ics = calendar_part(received)
    assert method == "REQUEST" and b"\r\n" in ics
    calendar, event = parse(ics)
    assert str(calendar["method"]) == "REQUEST" and str(event["uid"]) == "bk_7Qx@interviews.example.com"


def test_a_rescheduled_chinese_booking_says_so_in_chinese() -> None:
    zh = replace(INVITATION, job_title="仓库主管", language="zh")
    moved = replace(BOOKING, revision=1)
    message = booking_email(moved, zh, NOW, "Asia/Shanghai")

    assert message["Subject"] == "已改期：您的仓库主管面试改为2027年3月14日 21:00（Asia/Shanghai）"
    _, event = parse(calendar_part(message)[1])
    assert event.sequence == 1


def test_a_cancellation_email_carries_method_cancel(free_port: Callable[[], int]) -> None:
    cancelled = replace(BOOKING, status=BookingStatus.CANCELLED, revision=1)
    received = through_smtp(booking_email(cancelled, INVITATION, NOW, "America/New_York"), free_port())

    assert (
        received["Subject"]
        == "Cancelled: your interview for Warehouse Supervisor on Sun 14 Mar 2027, 09:00 (America/New_York)"
    )
    method, ics = calendar_part(received)
    assert method == "CANCEL"
    calendar, _ = parse(ics)
    assert str(calendar["method"]) == "CANCEL"
