"""The RFC 5545 calendar invitation sent with each booking change, built with `icalendar`.

One UID per booking, so a reschedule (SEQUENCE + 1) or a cancellation (METHOD:CANCEL) updates the event the
candidate's calendar already holds instead of adding another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from icalendar import Alarm, Calendar, Event, vCalAddress, vText

from hr.scheduling import Booking, BookingStatus

PRODID = "-//Shanmian//Interview scheduling//EN"

SUMMARY = {
    "en": "Interview: {job} (AI interviewer)",
    "zh": "面试：{job}（AI 面试官）",
}
DESCRIPTION = {
    "en": "Your interview for {job} with the AI interviewer.\nJoin: {url}\nTo reschedule or cancel, open the same link.",
    "zh": "您的{job}面试，由 AI 面试官进行。\n加入面试：{url}\n如需改期或取消，请打开同一链接。",
}
ALARM_TEXT = {
    "en": "Your interview for {job} starts soon: {url}",
    "zh": "您的{job}面试即将开始：{url}",
}


@dataclass(frozen=True, slots=True)
class Person:
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class Invitation:
    """What the invitation says besides the booking's own times."""

    job_title: str
    language: Literal["en", "zh"]
    join_url: str
    organizer: Person
    candidate: Person
    uid_domain: str
    alarm_before: timedelta = timedelta(minutes=15)


def booking_uid(booking: Booking, uid_domain: str) -> str:
    """The event's UID: the same for every revision of one booking."""
    return f"{booking.id}@{uid_domain}"


def _address(person: Person, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["CN"] = vText(person.name)
    address.params.update(params)
    return address


def invitation_ics(booking: Booking, invitation: Invitation, now: datetime) -> bytes:
    """The .ics for the booking as it is now: a REQUEST while confirmed, a CANCEL once cancelled."""
    cancelled = booking.status is BookingStatus.CANCELLED
    words = {"job": invitation.job_title, "url": invitation.join_url}

    event = Event()
    event.add("uid", booking_uid(booking, invitation.uid_domain))
    # RFC 5546: each revision the attendee should apply carries a higher SEQUENCE; the ledger counts them.
    event.add("sequence", booking.revision)
    event.add("dtstamp", now)
    event.add("dtstart", booking.slot.start)
    event.add("dtend", booking.slot.end)
    event.add("summary", SUMMARY[invitation.language].format(**words))
    event.add("description", DESCRIPTION[invitation.language].format(**words))
    event.add("location", invitation.join_url)
    event.add("url", invitation.join_url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("organizer", _address(invitation.organizer))
    # Booking the slot was the candidate's acceptance: no RSVP buttons asking again.
    event.add("attendee", _address(invitation.candidate, ROLE="REQ-PARTICIPANT", PARTSTAT="ACCEPTED", RSVP="FALSE"))
    if not cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", ALARM_TEXT[invitation.language].format(**words))
        alarm.add("trigger", -invitation.alarm_before)
        event.add_component(alarm)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    calendar.add_component(event)
    return calendar.to_ical()
