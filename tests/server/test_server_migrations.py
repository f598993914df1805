"""Each migration that adds tables, on SQLite and a real PostgreSQL: at head its tables are there exactly as
server/db/tables.py declares them; downgraded to the revision before it they are gone and alembic_version says so;
upgraded again they are back (the session's PostgreSQL is shared by other tests: it is left at the newest schema).
0017's consent columns are filled from what 0016 kept (the `+video` suffix, the audit log's notice entries, which
stay as they were) and given back on its downgrade.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from server.db import audit_log
from server.db.migrate import alembic_config
from server.db.tables import AuditRow, Base, CandidateRow, InterviewRow, JobRow, RecordingRow
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


# --- 0017: consent columns (a recording's video consent, the interview's AI notice acceptance) ---------------------

NOTICE_AT = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(params=DATABASES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of its own, to be migrated from the start: its rows are the test's only ones."""
    if request.param == "postgres":
        return str(request.getfixturevalue("fresh_postgres"))
    return f"sqlite:///{tmp_path / 'store.db'}"


def _columns(conn: Connection, table: str) -> set[str]:
    return {column["name"] for column in inspect(conn).get_columns(table)}


async def _rows_before_0017(engine: AsyncEngine) -> None:
    """Interviews as 0016 kept their consents: `+video` on the consent source, the notice only in the audit log."""
    async with AsyncSession(engine) as s, s.begin():
        s.add(JobRow(id="j-old", title="t", description="", requirements=[], language="en", pass_threshold=6.0,
                     plan={}))  # fmt: skip
        s.add(CandidateRow(id="c-old", name="Before Columns", email=None, resume_text=None))
        await s.flush()
        for iid in ("i-video", "i-audio", "i-none"):
            await s.execute(
                text(
                    "INSERT INTO interviews (id, job_id, candidate_id, mode, status, candidate_token, observer_token) "
                    "VALUES (:id, 'j-old', 'c-old', 'video', 'completed', :ct, :ot)"
                ),
                {"id": iid, "ct": f"ct-{iid}", "ot": f"ot-{iid}"},
            )
        for iid, source in (("i-video", "hello+video"), ("i-audio", "rest")):
            await s.execute(
                text(
                    "INSERT INTO interview_recordings (interview_id, consent, consent_source, status) "
                    "VALUES (:id, :consent, :source, 'complete')"
                ),
                {"id": iid, "consent": True, "source": source},
            )
        notices: list[tuple[str | None, str, datetime]] = [
            ("i-audio", "rest", NOTICE_AT),
            ("i-audio", "hello", NOTICE_AT + timedelta(minutes=5)),
            (None, "hello", NOTICE_AT + timedelta(minutes=9)),  # an erased interview's: its id was removed
        ]
        for about, via, at in notices:
            await audit_log.append(s, "candidate", "ai_notice_accepted", about, {"via": via}, clock=fixed(at))


def fixed(at: datetime) -> Callable[[], datetime]:
    return lambda: at


async def _audit_entries(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with AsyncSession(engine) as s:
        rows = (await s.scalars(select(AuditRow).order_by(AuditRow.seq))).all()
        return [(r.seq, r.interview_id, r.action, r.detail, r.created_at, r.prev_hash, r.row_hash) for r in rows]


async def test_0017_moves_the_video_suffix_and_the_notice_entries_into_columns_and_downgrades_back(
    empty_database_url: str,
) -> None:
    engine = create_async_engine(Settings.from_env({}, api_key="k", database_url=empty_database_url).sqlalchemy_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0016"))
        await _rows_before_0017(engine)
        audit_before = await _audit_entries(engine)

        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0017"))
            assert await conn.run_sync(_diffs, {"interviews", "interview_recordings"}) == []
        async with AsyncSession(engine) as s:
            recordings = {r.interview_id: r for r in (await s.scalars(select(RecordingRow))).all()}
            interviews = {i.id: i for i in (await s.scalars(select(InterviewRow))).all()}
        assert (recordings["i-video"].consent_source, recordings["i-video"].video_consent) == ("hello", True)
        assert (recordings["i-audio"].consent_source, recordings["i-audio"].video_consent) == ("rest", None)
        # The interview's first acceptance, to the microsecond; the later one stays in the audit log only.
        assert (interviews["i-audio"].ai_notice_accepted_at, interviews["i-audio"].ai_notice_source) == (
            NOTICE_AT,
            "rest",
        )
        assert (interviews["i-video"].ai_notice_accepted_at, interviews["i-video"].ai_notice_source) == (None, None)
        assert await _audit_entries(engine) == audit_before, "the hash-chained audit log is only read"

        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0016"))
            assert "video_consent" not in await conn.run_sync(_columns, "interview_recordings")
            assert not {"ai_notice_accepted_at", "ai_notice_source"} & await conn.run_sync(_columns, "interviews")
            sources: dict[str, str] = dict(
                (await conn.execute(text("SELECT interview_id, consent_source FROM interview_recordings"))).all()
            )
            assert sources == {"i-video": "hello+video", "i-audio": "rest"}
            assert (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one() == "0016"
    finally:
        await engine.dispose()
