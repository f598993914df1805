"""`/v1/mail`: the e-mail outbox as HR reads it: every message the server wrote, sent over SMTP or, with none
configured, `held` here for HR to read and hand on (the embedded default sends nothing).

The table and its sending are server/mail/.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from msgspec import Struct

from server.auth import role_guard
from server.db.tables import MailRow
from server.errors import errors, not_found
from server.mail import Mail
from server.mail.outbox import MailNotFound, parse_message
from server.route_audit import audited

State = Literal["held", "pending", "sent", "failed"]


class MailOut(Struct):
    id: str
    kind: str  # what it is, e.g. invitation
    to: str
    subject: str
    state: str  # held (no SMTP configured) | pending | sent | failed
    attempts: int
    last_error: str | None  # the SMTP server's answer or the connection error of the last failed attempt
    created_at: datetime
    sent_at: datetime | None


class MailDetail(MailOut):
    text: str  # the plain-text body, as the recipient reads it
    message: str  # the whole message (RFC 5322), e.g. to import into a mail client


def mail_out(row: MailRow) -> MailOut:
    return MailOut(
        id=row.id,
        kind=row.kind,
        to=row.to_address,
        subject=row.subject,
        state=row.state,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


def plain_text(raw: str) -> str:
    body = parse_message(raw).get_body(("plain",))
    return "" if body is None else str(body.get_content())


class MailController(Controller):
    path = "/v1/mail"
    tags = ["mail"]  # noqa: RUF012  (Litestar reads tags as a class attribute)
    guards = [role_guard]  # noqa: RUF012

    @get(opt=audited("mail_listed", "state", "limit"), responses=errors(400, 401))
    async def list_mail(
        self,
        mail: NamedDependency[Mail],
        only: Annotated[State | None, QueryParameter(name="state", description="only messages in this state")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000, description="messages to list, newest first")] = 100,
    ) -> list[MailOut]:
        """The messages, newest first; `?state=held` lists those waiting for HR when no SMTP server is configured."""
        return [mail_out(r) for r in await mail.outbox.messages(only, limit)]

    @get("/{mail_id:str}", opt=audited("mail_viewed"), responses=errors(401, 404))
    async def get_mail(self, mail_id: FromPath[str], mail: NamedDependency[Mail]) -> MailDetail:
        """One message with its text and its whole source."""
        try:
            row = await mail.outbox.message(mail_id)
        except MailNotFound:
            raise not_found("message", mail_id) from None
        out, source = mail_out(row), mail.outbox.source(row)
        return MailDetail(
            **{f: getattr(out, f) for f in out.__struct_fields__}, text=plain_text(source), message=source
        )
