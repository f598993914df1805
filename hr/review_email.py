"""The e-mail that asks a job's reviewer to review a finished interview, in the job's language (en or zh): where to
review it and by when. Sending it (SMTP or the outbox table) is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Literal

from hr.calendar_invite import Person
from hr.email_message import local_time_text
from hr.invitation_email import one_line

SUBJECT = {
    "en": "Finished, please review: {candidate} for {job}",
    "zh": "面试已完成，请审阅：{candidate}（{job}）",
}
BODY = {
    "en": "Hello {name},\n\n{candidate}'s interview for {job} is finished and its report is ready. Please review it "
    "and submit your scorecard by {due}.\n\n{blind}Review it here:\n{url}\n",
    "zh": "{name}，您好：\n\n{candidate}的{job}面试已完成，报告已生成。请在{due}前审阅并提交您的评分表。\n\n{blind}"
    "审阅地址：\n{url}\n",
}
BLIND = {
    "en": "The AI's score and the other reviewers' scorecards are shown to you once you have submitted yours.\n\n",
    "zh": "提交您的评分表后，才会向您显示 AI 评分和其他审阅人的评分表。\n\n",
}


@dataclass(frozen=True, slots=True)
class ReviewLetter:
    """What the request says: whose interview for which job, where and by when to review, who writes and to whom."""

    job_title: str
    candidate_name: str
    language: Literal["en", "zh"]
    link: str
    due_at: datetime
    blind: bool
    sender: Person
    reviewer: Person
    message_domain: str


def review_request_email(letter: ReviewLetter, now: datetime) -> EmailMessage:
    words = {
        "job": one_line(letter.job_title),
        "candidate": one_line(letter.candidate_name),
        "name": one_line(letter.reviewer.name),
        "url": letter.link,
        "due": local_time_text(letter.due_at, "UTC", letter.language),
        "blind": BLIND[letter.language] if letter.blind else "",
    }
    message = EmailMessage()
    message["From"] = formataddr((letter.sender.name, letter.sender.email))
    message["To"] = formataddr((words["name"], letter.reviewer.email))
    message["Subject"] = SUBJECT[letter.language].format(**words)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=letter.message_domain)
    # Quoted-printable keeps the message 7-bit clean, as the invitation does.
    message.set_content(BODY[letter.language].format(**words), cte="quoted-printable")
    message["Content-Language"] = "zh-CN" if letter.language == "zh" else "en"  # after: set_content clears Content-*
    return message
