"""The e-mail that invites a candidate to a job's interview, in the job's language (en or zh): the link that opens
it and the moment the link stops working. Sending it (SMTP or the outbox table) is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Literal

from hr.calendar_invite import Person
from hr.email_message import local_time_text

SUBJECT = {
    "en": "Invitation: your interview for {job}",
    "zh": "面试邀请：{job}",
}
BODY = {
    "en": "Hello {name},\n\nYou are invited to an interview for {job}. It is conducted by an AI interviewer and "
    "takes place in your browser; a person reviews the result.\n\nOpen your personal link to take part:\n{url}\n\n"
    "The link works until {until}. Please do not share it: it is yours alone.\n",
    "zh": "{name}，您好：\n\n诚邀您参加{job}的面试。面试由 AI 面试官在浏览器中进行，结果由招聘人员审阅。\n\n"
    "请打开您的专属链接参加面试：\n{url}\n\n该链接在{until}前有效。请勿转发，此链接仅供您本人使用。\n",
}


@dataclass(frozen=True, slots=True)
class InvitationLetter:
    """What the invitation says: the job, the candidate's link and its expiry, who writes and to whom."""

    job_title: str
    language: Literal["en", "zh"]
    link: str
    expires_at: datetime
    sender: Person
    candidate: Person
    message_domain: str  # the right-hand side of its Message-ID


def one_line(text: str) -> str:
    """Text fit for a header: a name or title typed with a line break would otherwise be refused by the header."""
    return " ".join(text.split())


def is_address(text: str) -> bool:
    """Whether `text` is a plain addr-spec a message can go to (one @, both sides, no spaces or angle brackets)."""
    local, at, domain = text.rpartition("@")
    return bool(at and local and "." in domain and not any(c.isspace() or c in '<>,;"' for c in text))


def invitation_email(letter: InvitationLetter, now: datetime) -> EmailMessage:
    """The message; the expiry is shown in UTC, since the candidate's zone is not known before they open the link."""
    words = {
        "job": one_line(letter.job_title),
        "name": one_line(letter.candidate.name),
        "url": letter.link,
        "until": local_time_text(letter.expires_at, "UTC", letter.language),
    }
    message = EmailMessage()
    message["From"] = formataddr((letter.sender.name, letter.sender.email))
    message["To"] = formataddr((words["name"], letter.candidate.email))
    message["Subject"] = SUBJECT[letter.language].format(**words)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=letter.message_domain)
    # Quoted-printable keeps the message 7-bit clean: a relay without 8BITMIME passes the Chinese text unharmed.
    message.set_content(BODY[letter.language].format(**words), cte="quoted-printable")
    message["Content-Language"] = "zh-CN" if letter.language == "zh" else "en"  # after: set_content clears Content-*
    return message
