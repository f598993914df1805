"""The e-mail outbox in the database: messages written in the transaction that decided them, read by HR over REST,
and claimed, sent and settled by the SMTP worker (server/mail/worker.py) when SMTP is configured.

With no SMTP server configured a message is `held`: kept for HR to read and hand on; nothing ever sends it.
"""

from __future__ import annotations

import email
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

from sqlalchemy import CursorResult, Insert, or_, select, update
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.db.tables import MailRow
from server.token_vault import MAIL_MESSAGE, TokenVault

Clock = Callable[[], datetime]

# After the n-th failed attempt the next waits RETRY_AFTER[n - 1]; once they are spent the message has failed.
RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
MAX_ATTEMPTS = len(RETRY_AFTER) + 1


def utc_now() -> datetime:
    return datetime.now(UTC)


class MailState:
    HELD = "held"  # no SMTP configured: HR reads it over REST
    PENDING = "pending"  # due at next_attempt_at
    SENT = "sent"
    FAILED = "failed"  # refused for good, or every retry spent

    ALL = (HELD, PENDING, SENT, FAILED)


class MailNotFound(LookupError):
    pass


def parse_message(raw: str) -> EmailMessage:
    message = email.message_from_string(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)  # policy.default parses into EmailMessage
    return message


def _insert_once(session: AsyncSession) -> Insert:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(MailRow).on_conflict_do_nothing(index_elements=["dedup_key"])


class MailOutbox:
    """Every read and write of the mail_outbox table. `sending`: whether an SMTP worker will send what is added."""

    def __init__(self, engine: AsyncEngine, *, vault: TokenVault, sending: bool, clock: Clock = utc_now) -> None:
        self.vault = vault  # messages hold the candidates' links: stored sealed, as the tokens themselves
        self.sending = sending
        self.clock = clock
        self._session = async_sessionmaker(engine, expire_on_commit=False)
        self.on_added: Callable[[], None] = lambda: None  # the local worker's wake-up

    async def add(
        self,
        session: AsyncSession,
        mail_id: str,
        dedup_key: str,
        kind: str,
        message: EmailMessage,
        *,
        candidate_id: str | None = None,
    ) -> bool:
        """Add `message` to `session`'s transaction as `mail_id`; False when the one about `dedup_key` is there.

        `candidate_id`: the candidate it is written to, so that erasing them erases it."""
        now = self.clock()
        values = {
            "id": mail_id,
            "dedup_key": dedup_key,
            "kind": kind,
            "candidate_id": candidate_id,
            "to_address": str(message["To"]),
            "subject": str(message["Subject"]),
            "message": self.vault.seal(MAIL_MESSAGE, mail_id, message.as_string()),
            "state": MailState.PENDING if self.sending else MailState.HELD,
            "attempts": 0,
            "next_attempt_at": now if self.sending else None,
            "created_at": now,
        }
        result: CursorResult[Any] = await session.execute(_insert_once(session).values(**values))  # type: ignore[assignment]  # an INSERT's result is a CursorResult
        if result.rowcount != 1:
            return False
        if self.sending:
            # Woken once the transaction commits: woken before, the worker would find nothing yet.
            sqlalchemy_event.listen(session.sync_session, "after_commit", lambda _: self.on_added(), once=True)
        return True

    def source(self, row: MailRow) -> str:
        """The whole message as sent (RFC 5322), opened."""
        return self.vault.must_open(MAIL_MESSAGE, row.id, row.message)

    async def messages(self, state: str | None = None, limit: int = 100) -> Sequence[MailRow]:
        """The newest first."""
        query = select(MailRow).order_by(MailRow.created_at.desc(), MailRow.id).limit(limit)
        if state is not None:
            query = query.where(MailRow.state == state)
        async with self._session() as s:
            return (await s.scalars(query)).all()

    async def message(self, mail_id: str) -> MailRow:
        async with self._session() as s:
            row = await s.get(MailRow, mail_id)
        if row is None:
            raise MailNotFound(mail_id)
        return row

    # --- the worker's side ---------------------------------------------------------------------------------------

    async def claim(self, worker: str, lease: timedelta, limit: int) -> list[MailRow]:
        """Due messages no other worker holds, each taken by a compare-and-set, so two nodes never send one twice."""
        now = self.clock()
        free = or_(MailRow.claimed_until.is_(None), MailRow.claimed_until <= now)
        due = select(MailRow.id).where(MailRow.state == MailState.PENDING, MailRow.next_attempt_at <= now, free)
        claimed = []
        async with self._session() as s:
            ids = (await s.scalars(due.order_by(MailRow.next_attempt_at).limit(limit))).all()
        for mail_id in ids:
            async with self._session() as s, s.begin():
                result: CursorResult[Any] = await s.execute(  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
                    update(MailRow)
                    .where(MailRow.id == mail_id, MailRow.state == MailState.PENDING, free)
                    .values(claimed_by=worker, claimed_until=now + lease)
                )
                if result.rowcount == 1:
                    row = await s.get(MailRow, mail_id, populate_existing=True)
                    if row is not None:
                        claimed.append(row)
        return claimed

    async def settle(self, row: MailRow, worker: str, error: str | None, permanent: bool) -> str:
        """Record an attempt's outcome (error None: sent); returns the message's state after it."""
        now = self.clock()
        attempts = row.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "claimed_by": None, "claimed_until": None, "last_error": error}
        if error is None:
            values.update(state=MailState.SENT, sent_at=now, next_attempt_at=None)
        elif permanent or attempts >= MAX_ATTEMPTS:
            values.update(state=MailState.FAILED, next_attempt_at=None)
        else:
            values.update(next_attempt_at=now + RETRY_AFTER[attempts - 1])
        async with self._session() as s, s.begin():
            await s.execute(update(MailRow).where(MailRow.id == row.id, MailRow.claimed_by == worker).values(**values))
        return str(values.get("state", MailState.PENDING))
