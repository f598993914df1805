"""The e-mail that carries a booking's calendar invitation to the candidate, in the job's language (en or zh).

A plain-text part for people and a `text/calendar; method=...` part that mail clients turn into the calendar event;
sending it (SMTP or the outbox table) is the caller's.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from zoneinfo import ZoneInfo

from hr.calendar_invite import Invitation, invitation_ics
from hr.scheduling import Booking, BookingStatus

SUBJECT = {
    "en": {
        "booked": "Your interview for {job}: {when}",
        "moved": "Rescheduled: your interview for {job} is now {when}",
        "cancelled": "Cancelled: your interview for {job} on {when}",
    },
    "zh": {
        "booked": "您的{job}面试：{when}",
        "moved": "已改期：您的{job}面试改为{when}",
        "cancelled": "已取消：您{when}的{job}面试",
    },
}
BODY = {
    "en": {
        "booked": "Hello {name},\n\nYour interview for {job} is booked for {when}.\nJoin here: {url}\n\n"
        "To reschedule or cancel, open the same link. The attached invitation adds it to your calendar.\n",
        "moved": "Hello {name},\n\nYour interview for {job} has moved to {when}.\nJoin here: {url}\n\n"
        "The attached invitation updates your calendar.\n",
        "cancelled": "Hello {name},\n\nYour interview for {job} on {when} is cancelled.\n"
        "The attached message removes it from your calendar.\n",
    },
    "zh": {
        "booked": "{name}，您好：\n\n您的{job}面试已预约在{when}。\n加入面试：{url}\n\n"
        "如需改期或取消，请打开同一链接。附件中的邀请可添加到您的日历。\n",
        "moved": "{name}，您好：\n\n您的{job}面试已改到{when}。\n加入面试：{url}\n\n附件中的邀请会更新您的日历。\n",
        "cancelled": "{name}，您好：\n\n您{when}的{job}面试已取消。\n附件会从您的日历中删除该面试。\n",
    },
}
# Spelled out here rather than by strftime's %a and %b, which follow the process locale.
EN_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def local_time_text(at: datetime, zone: str, language: str) -> str:
    """`Sun 14 Mar 2027, 21:00 (Asia/Shanghai)` or `2027年3月14日 21:00（Asia/Shanghai）`."""
    t = at.astimezone(ZoneInfo(zone))
    if language == "zh":
        return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}（{zone}）"
    return f"{EN_DAYS[t.weekday()]} {t.day} {EN_MONTHS[t.month - 1]} {t.year}, {t:%H:%M} ({zone})"


def _change(booking: Booking) -> str:
    if booking.status is BookingStatus.CANCELLED:
        return "cancelled"
    return "moved" if booking.revision > 0 else "booked"


def booking_email(booking: Booking, invitation: Invitation, now: datetime, show_zone: str) -> EmailMessage:
    """The message for the booking as it is now, its time shown in `show_zone` (the candidate's, when known)."""
    when = local_time_text(booking.slot.start, show_zone, invitation.language)
    words = {"job": invitation.job_title, "when": when, "url": invitation.join_url, "name": invitation.candidate.name}
    change = _change(booking)

    message = EmailMessage()
    message["From"] = formataddr((invitation.organizer.name, invitation.organizer.email))
    message["To"] = formataddr((invitation.candidate.name, invitation.candidate.email))
    message["Subject"] = SUBJECT[invitation.language][change].format(**words)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=invitation.uid_domain)
    message.set_content(BODY[invitation.language][change].format(**words))
    method = "CANCEL" if change == "cancelled" else "REQUEST"
    # As bytes, base64: a text part would have its CRLF line ends (which RFC 5545 requires) rewritten.
    message.add_alternative(
        invitation_ics(booking, invitation, now),
        maintype="text",
        subtype="calendar",
        params={"method": method, "charset": "utf-8"},
    )
    return message
