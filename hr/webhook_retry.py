"""When a webhook delivery is tried again: the Standard Webhooks schedule with jitter, and the receiver's `Retry-After`.

Plain functions of the attempt number and the answer, so the in-process sender and a database outbox share them.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

# Delay before each attempt: the first is immediate, the tenth comes a day after the ninth; then the message fails.
SCHEDULE: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
# ±10 %: enough to spread a burst of failed deliveries to one receiver, small enough to keep the schedule's shape.
JITTER = 0.1
# A receiver may ask for more time, not park a message past the schedule's longest step.
RETRY_AFTER_CAP = timedelta(hours=24)


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A `Retry-After` header (seconds or an HTTP date) as a delay from now; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        # Capped before it becomes a timedelta: a huge number must not overflow it.
        return timedelta(seconds=min(int(value), RETRY_AFTER_CAP.total_seconds()))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))


def delay_before(attempt: int, rng: random.Random, asked: timedelta | None = None) -> timedelta | None:
    """The wait before attempt number `attempt` (1 is the first), or None once the schedule is spent.

    `asked` is the receiver's `Retry-After` on the previous attempt: honoured as a minimum, capped at a day.
    """
    if not 1 <= attempt <= len(SCHEDULE):
        return None
    delay = SCHEDULE[attempt - 1] * (1 + rng.uniform(-JITTER, JITTER))
    if asked is not None:
        delay = max(delay, min(asked, RETRY_AFTER_CAP))
    return delay
