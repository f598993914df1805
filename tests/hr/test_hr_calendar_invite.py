"""Invitations parsed back with icalendar: UID, SEQUENCE, METHOD, times, people, the alarm and both languages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

from hr.calendar_invite import Invitation, Person, invitation_ics
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
