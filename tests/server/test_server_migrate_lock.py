"""Several nodes migrating one fresh database at the same moment (real processes, real PostgreSQL and SQLite): every
one succeeds and the schema they leave is the one a lone migration makes, because they migrate under one lock."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from server.db.migrate import ADVISORY_LOCK_KEY, alembic_config, upgrade
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
NODES = 4

# One node's start-up (Store.open migrates), in its own interpreter; it says "ready" just before it connects.
NODE = """
import asyncio, sys
from server.db.store import Store

async def main(url: str) -> None:
    print("ready", flush=True)
    store = await Store.open(url)
    await store.close()

asyncio.run(main(sys.argv[1]))
"""


def _url(database_url: str) -> str:
    return Settings.from_env({}, api_key="k", database_url=database_url).sqlalchemy_url


async def _start_nodes(url: str) -> list[asyncio.subprocess.Process]:
    nodes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", NODE, url, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(NODES)
    ]
    for node in nodes:
        assert node.stdout is not None
        assert (await asyncio.wait_for(node.stdout.readline(), 120)).strip() == b"ready"
    return nodes


async def _all_succeed(nodes: list[asyncio.subprocess.Process]) -> None:
    failures = []
    for node in nodes:
        _, err = await asyncio.wait_for(node.communicate(), 120)
        if node.returncode != 0:
            failures.append(err.decode(errors="replace")[-2000:])
    assert failures == [], "\n---\n".join(failures)


def _schema(conn: Connection) -> dict[str, Any]:
    """Everything a migration decides about each table, in a comparable form."""
    inspector = inspect(conn)
    return {
        table: {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted((tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)),
            "uniques": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
        }
        for table in sorted(inspector.get_table_names())
    }


async def _schema_and_versions(url: str) -> tuple[dict[str, Any], list[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
            return await conn.run_sync(_schema), list(versions)
    finally:
        await engine.dispose()


async def _lone_migration_schema(url: str) -> dict[str, Any]:
    engine = create_async_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    schema, _ = await _schema_and_versions(url)
    return schema


HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture
async def fresh_postgres(postgres_database: str) -> AsyncIterator[tuple[str, str]]:
    """Two new, empty PostgreSQL databases beside the session's one (dropped afterwards): one for the nodes, one
    for a lone reference migration; their URLs."""
    names = [f"shanmian_test_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    admin = await asyncpg.connect(postgres_database)
    base, _, _ = postgres_database.rpartition("/")
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _waiting_for_the_lock(conn: asyncpg.Connection) -> int:
    # pg_locks shows a bigint advisory key as its high and low 32 bits (classid, objid), objsubid 1.
    count: int = await conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND classid = $1 AND objid = $2 AND objsubid = 1 AND database = (SELECT oid FROM pg_database"
        " WHERE datname = current_database())",
        ADVISORY_LOCK_KEY >> 32,
        ADVISORY_LOCK_KEY & 0xFFFFFFFF,
    )
    return count


@pytest.mark.postgres
async def test_nodes_starting_together_on_postgres_wait_for_one_lock_and_leave_one_schema(
    fresh_postgres: tuple[str, str],
) -> None:
    nodes_db, reference_db = fresh_postgres
    holder = await asyncpg.connect(nodes_db)
    try:
        # Holding the migration lock ourselves lines every node up behind it, so they are all released together.
        await holder.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
        nodes = await _start_nodes(_url(nodes_db))
        deadline = time.monotonic() + 60
        while (waiting := await _waiting_for_the_lock(holder)) < NODES:
            assert time.monotonic() < deadline, f"only {waiting} of {NODES} nodes waited for the migration lock"
            await asyncio.sleep(0.1)
        assert await holder.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
        await holder.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
        await _all_succeed(nodes)
    finally:
        await holder.close()

    schema, versions = await _schema_and_versions(_url(nodes_db))
    assert versions == [HEAD]
    assert "interviews" in schema and "turns" in schema
    assert schema == await _lone_migration_schema(_url(reference_db))


@pytest.mark.postgres
async def test_nodes_starting_at_once_on_postgres_all_succeed(fresh_postgres: tuple[str, str]) -> None:
    nodes_db, reference_db = fresh_postgres
    await _all_succeed(await _start_nodes(_url(nodes_db)))
    schema, versions = await _schema_and_versions(_url(nodes_db))
    assert versions == [HEAD]
    assert schema == await _lone_migration_schema(_url(reference_db))


async def test_nodes_starting_together_on_one_sqlite_file_all_succeed(tmp_path: Path) -> None:
    database = tmp_path / "shanmian.db"
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        # Every node is started and about to migrate before any of them can: they race for the file once it frees.
        holder.execute("BEGIN EXCLUSIVE")
        nodes = await _start_nodes(_url(f"sqlite:///{database}"))
        await asyncio.sleep(1.0)
        assert holder.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
        holder.execute("COMMIT")
    finally:
        holder.close()
    await _all_succeed(nodes)

    schema, versions = await _schema_and_versions(_url(f"sqlite:///{database}"))
    assert versions == [HEAD]
    assert schema == await _lone_migration_schema(_url(f"sqlite:///{tmp_path / 'reference.db'}"))
