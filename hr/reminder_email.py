"""The reminder e-mail sent before a booked interview, in the job's language (en or zh).

It says how far off the interview is and when, in the candidate's zone, with the join link; sending it is the
caller's (the mail outbox).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from hr.calendar_invite import Invitation
from hr.email_message import local_time_text
from hr.reminders import Reminder

SUBJECT = {
    "en": "Reminder: your interview for {job} is in {lead} ({when})",
    "zh": "提醒：您的{job}面试将在{lead}后开始（{when}）",
}
BODY = {
    "en": "Hello {name},\n\nThis is a reminder: your interview for {job} starts in {lead}, at {when}.\n"
    "Join here: {url}\n\nTo reschedule or cancel, open the same link.\n",
    "zh": "{name}，您好：\n\n提醒您：您的{job}面试将在{lead}后开始，时间为{when}。\n加入面试：{url}\n\n"
    "如需改期或取消，请打开同一链接。\n",
}


def lead_text(offset: timedelta, language: str) -> str:
    """`24 hours`, `1 hour`, `30 minutes`; `24小时`, `30分钟`."""
    minutes = round(offset / timedelta(minutes=1))
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours}小时" if language == "zh" else f"{hours} hour" + ("" if hours == 1 else "s")
    return f"{minutes}分钟" if language == "zh" else f"{minutes} minute" + ("" if minutes == 1 else "s")


def reminder_email(reminder: Reminder, invitation: Invitation, now: datetime, show_zone: str) -> EmailMessage:
    """The message for `reminder`, the interview's time shown in `show_zone` (the candidate's)."""
    language = invitation.language
    words = {
        "job": invitation.job_title,
        "when": local_time_text(reminder.starts_at, show_zone, language),
        "lead": lead_text(reminder.offset, language),
        "url": invitation.join_url,
        "name": invitation.candidate.name,
    }
    message = EmailMessage()
    message["From"] = formataddr((invitation.organizer.name, invitation.organizer.email))
    message["To"] = formataddr((invitation.candidate.name, invitation.candidate.email))
    message["Subject"] = SUBJECT[language].format(**words)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=invitation.uid_domain)
    message.set_content(BODY[language].format(**words))
    return message
