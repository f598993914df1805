"""Each migration that adds tables, on SQLite and a real PostgreSQL: at head its tables are there exactly as
server/db/tables.py declares them; downgraded to the revision before it they are gone and alembic_version says so;
upgraded again they are back (the session's PostgreSQL is shared by other tests: it is left at the newest schema).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from server.db.migrate import alembic_config
from server.db.tables import Base
from server.settings import Settings

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
# (revision, the one before it, the tables it adds)
ADDING_TABLES = [
    pytest.param("0006", "0005", {"erasures", "retention_runs"}, id="0006-privacy"),
    pytest.param("0007", "0006", {"performance_outcomes", "candidate_demographics"}, id="0007-outcomes"),
    pytest.param("0008", "0007", {"invitations", "idempotency_keys", "mail_outbox"}, id="0008-invitations"),
    pytest.param("0009", "0008", {"review_policies", "review_tasks", "scorecards", "share_links"}, id="0009-reviews"),
    pytest.param(
        "0011",
        "0010",
        {"offer_suggestions", "training_courses", "job_competency_maps", "training_recommendations"},
        id="0011-handoffs",
    ),
    pytest.param(
        "0012", "0011", {"job_availability", "bookings", "slot_seats", "booking_reminders"}, id="0012-booking"
    ),
    pytest.param("0013", "0012", {"users", "user_jobs", "api_keys"}, id="0013-people"),
    pytest.param("0014", "0013", {"interview_leases"}, id="0014-leases"),
    pytest.param("0015", "0014", {"token_key"}, id="0015-sealed-tokens"),
]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return f"sqlite:///{tmp_path / 'store.db'}"


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _diffs(conn: Connection, tables: set[str]) -> list[Any]:
    """What differs between the migrated schema and the declared tables, for `tables`."""
    diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    return [d for d in diffs if any(name in repr(d) for name in tables)]


@pytest.mark.parametrize(("revision", "before", "tables"), ADDING_TABLES)
async def test_a_migration_adds_its_tables_as_declared_and_downgrades_cleanly(
    database_url: str, revision: str, before: str, tables: set[str]
) -> None:
    engine = create_async_engine(Settings.from_env({}, api_key="k", database_url=database_url).sqlalchemy_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
            assert await conn.run_sync(_tables) >= tables
            assert await conn.run_sync(_diffs, tables) == []

            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), before))
            assert not tables & await conn.run_sync(_tables)
            assert (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one() == before

            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), revision))
            assert await conn.run_sync(_tables) >= tables
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
    finally:
        await engine.dispose()
