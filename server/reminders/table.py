"""The booking_reminders table: reminders planned (hr.reminders.plan) in the transaction of a booking, re-planned in
a reschedule's, dropped in a cancellation's; and the worker's read of what is due.

A reminder's key names its booking, start and offset: moving a booking back to a time it had keeps what was sent
then as sent, so nothing goes out twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hr.reminders import plan
from hr.scheduling import Booking
from server.db.tables import ReminderRow


class ReminderState:
    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"  # a later reminder was due as well and said the same (after downtime)
    DROPPED = "dropped"  # rescheduled, cancelled, or the interview started first


async def plan_reminders(
    session: AsyncSession, booking: Booking, interview_id: str, offsets: Sequence[timedelta], now: datetime
) -> None:
    """Add the booking's reminders to `session`'s transaction; its earlier pending ones are dropped first."""
    await drop_reminders(session, booking.id, now)
    planned = plan(booking, tuple(offsets))
    if not planned:
        return
    known = {
        r.key: r
        for r in await session.scalars(
            select(ReminderRow).where(ReminderRow.key.in_([p.key for p in planned])).with_for_update()
        )
    }
    for reminder in planned:
        row = known.get(reminder.key)
        if row is None:
            session.add(
                ReminderRow(
                    id="rm_" + secrets.token_hex(12),
                    key=reminder.key,
                    booking_id=booking.id,
                    interview_id=interview_id,
                    starts_at=reminder.starts_at,
                    offset_s=int(reminder.offset.total_seconds()),
                    due_at=reminder.due_at,
                    state=ReminderState.PENDING,
                )
            )
        elif row.state == ReminderState.DROPPED:
            row.state, row.settled_at = ReminderState.PENDING, None


async def drop_reminders(session: AsyncSession, booking_id: str, now: datetime) -> None:
    await session.execute(
        update(ReminderRow)
        .where(ReminderRow.booking_id == booking_id, ReminderRow.state == ReminderState.PENDING)
        .values(state=ReminderState.DROPPED, settled_at=now)
    )


async def due_reminder_ids(session: AsyncSession, now: datetime, limit: int) -> Sequence[str]:
    query = (
        select(ReminderRow.id)
        .where(ReminderRow.state == ReminderState.PENDING, ReminderRow.due_at <= now)
        .order_by(ReminderRow.due_at)
        .limit(limit)
    )
    return (await session.scalars(query)).all()
