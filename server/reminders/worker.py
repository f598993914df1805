"""The reminder worker: finds reminders due by its clock and settles each in one transaction that marks it and, when
it is to go out, adds its e-mail to the mail outbox; any number of nodes may run one on the same database.

A reminder is settled by a compare-and-set from `pending`: of two workers that both found it due, one changes the row
and the other changes nothing and adds nothing, so a reminder goes out at most once, and a restart loses none (the
rows are the schedule). What to do is hr.reminders.due's decision: none once the interview has started, only the
latest of several that fell due together.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hr.reminder_email import reminder_email
from hr.reminders import Reminder, due
from server.db.booking import Letterhead, booked, calendar_invitation
from server.db.status import InterviewStatus
from server.db.store import Store
from server.db.tables import BookingRow, InterviewRow, ReminderRow
from server.mail.outbox import MailOutbox
from server.polling import PollingWorker
from server.reminders.table import ReminderState, due_reminder_ids

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
BATCH = 20


def utc_now() -> datetime:
    return datetime.now(UTC)


class ReminderWorker(PollingWorker):
    def __init__(
        self,
        store: Store,
        mail: MailOutbox,
        letterhead: Letterhead,
        *,
        clock: Clock = utc_now,
        poll_s: float = 30.0,
    ) -> None:
        super().__init__("reminder worker", "rw", poll_s)
        self.mail = mail
        self.letterhead = letterhead
        self.clock = clock
        self.vault = store.vault  # opens the candidate token for the reminder's join link
        self._session = async_sessionmaker(store.engine, expire_on_commit=False)

    async def run_once(self) -> int:
        """Settle the reminders due now; returns how many this worker settled (sent, skipped or dropped)."""
        now = self.clock()
        async with self._session() as s:
            ids = await due_reminder_ids(s, now, BATCH)
        settled = 0
        for reminder_id in ids:
            async with self._session() as s, s.begin():
                settled += await self._settle(s, reminder_id, now)
        return settled

    async def _settle(self, s: AsyncSession, reminder_id: str, now: datetime) -> int:
        row = await s.get(ReminderRow, reminder_id)
        booking_row = await s.get(BookingRow, row.booking_id) if row is not None else None
        interview = await s.get(InterviewRow, row.interview_id) if row is not None else None
        if row is None or booking_row is None or interview is None or row.state != ReminderState.PENDING:
            return 0
        siblings = (await s.scalars(select(ReminderRow).where(ReminderRow.booking_id == row.booking_id))).all()
        done = {r.key for r in siblings if r.state in (ReminderState.SENT, ReminderState.SKIPPED)}
        offsets = tuple(
            sorted(
                {timedelta(seconds=r.offset_s) for r in siblings if r.starts_at == booking_row.slot_start},
                reverse=True,
            )
        )
        started = interview.status != InterviewStatus.SCHEDULED
        decision = due(booked(booking_row), now, done, started=started, offsets=offsets)
        mine = Reminder(row.booking_id, row.starts_at, timedelta(seconds=row.offset_s))
        if mine in decision.send:
            state = ReminderState.SENT
        elif mine in decision.skip:
            state = ReminderState.SKIPPED
        else:  # started, moved or cancelled since it was planned
            state = ReminderState.DROPPED
        mail_id = "ml_" + secrets.token_hex(12) if state == ReminderState.SENT else None
        result: CursorResult[Any] = await s.execute(  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
            update(ReminderRow)
            .where(ReminderRow.id == row.id, ReminderRow.state == ReminderState.PENDING)
            .values(state=state, settled_at=now, mail_id=mail_id)
        )
        if result.rowcount != 1:
            return 0  # another worker settled it first
        if mail_id is not None:
            invitation = await calendar_invitation(s, interview, self.letterhead, self.vault)
            if invitation is not None:
                message = reminder_email(mine, invitation, now, booking_row.shown_zone)
                await self.mail.add(
                    s, mail_id, f"reminder:{row.key}", "reminder", message, candidate_id=interview.candidate_id
                )
        return 1
