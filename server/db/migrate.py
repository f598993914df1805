"""Brings a database to the newest schema with Alembic, on SQLite and PostgreSQL alike, one node at a time.

Nodes starting together would otherwise each find the schema old and run the same migrations at once (the loser
fails on a table the winner just created): the migrations run under a lock that only one connection holds.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"

# The PostgreSQL advisory lock key every Shanmian node migrates under: fixed, so nodes of every version agree on it;
# any bigint does, this one spells "shanmian" in ASCII so that pg_locks shows which application holds it.
ADVISORY_LOCK_KEY = int.from_bytes(b"shanmian", "big")


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def _lock(conn: AsyncConnection) -> None:
    """Wait for the migration lock, held until the transaction ends (committed, or rolled back by a failure)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        # The transaction-scoped variant: a failed migration cannot leave it held on a pooled connection.
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    elif dialect == "sqlite":
        # Takes the file's write lock before Alembic reads the version, so a second node waits (up to the
        # connection's busy timeout) and then reads the version the first one committed.
        await conn.exec_driver_sql("BEGIN EXCLUSIVE")
    else:
        raise ValueError(f"cannot migrate a {dialect} database: Shanmian supports SQLite and PostgreSQL")


async def upgrade(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await _lock(conn)
        await conn.run_sync(_upgrade)
