"""Retrying a database write that failed for a passing reason: a dropped connection, a locked SQLite file, a
PostgreSQL serialization failure or deadlock. What each reason is, and how long the store keeps trying.

Only idempotent writes may be retried this way: after a lost connection nobody knows whether the commit landed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Six tries, about 5 s of pauses in all: longer than a PostgreSQL failover or restart takes to accept connections again
# on a small deployment, short enough that a candidate waiting for the next question is not left in silence for
# long. Module constants rather than settings: nobody has needed to tune them yet.
ATTEMPTS = 6
FIRST_DELAY_S = 0.2
MAX_DELAY_S = 2.0

# SQLSTATEs worth another try: serialization failure, deadlock, and the connection classes (08: connection
# exception; 57P01-57P03: the server shut down or is starting).
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03"})
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is a database error that the same statement may not meet again a moment later."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if isinstance(sqlstate, str) and (sqlstate in _TRANSIENT_SQLSTATES or sqlstate.startswith("08")):
        return True
    return isinstance(exc, OperationalError) and any(text in str(exc.orig) for text in _SQLITE_BUSY)


async def retry_transient(what: str, write: Callable[[], Awaitable[T]]) -> T:
    """`await write()`, again after a growing pause while it fails with a transient error, at most ATTEMPTS times;
    the last error is raised. `what` names the write in the log."""
    delay, attempt = FIRST_DELAY_S, 1
    while True:
        try:
            return await write()
        except DBAPIError as exc:
            if attempt >= ATTEMPTS or not is_transient(exc):
                raise
            # The error's own text holds the statement's parameters (a candidate's answer): only its type is logged.
            log.warning(
                "%s: transient database error %s (try %d of %d), retrying in %.1f s",
                what,
                type(exc.orig).__name__,
                attempt,
                ATTEMPTS,
                delay,
            )
        await asyncio.sleep(delay)
        delay, attempt = min(delay * 2, MAX_DELAY_S), attempt + 1
