"""The hash-chained audit log on a fresh SQLite file and a fresh PostgreSQL database: `shanmian audit verify` (the
real CLI, a subprocess) passes an intact chain and names the first altered, removed, reordered, re-hashed or
unlinked entry; appends from several processes at once stay one chain; the migration chains entries written before
it; retention prunes only a prefix and the chain still verifies."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from audit_testkit import DATABASES, NO_ANCHOR, ROOT, cli, fixed, settings_for
from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from server.db import audit_log
from server.db.audit_chain import ERASED, GENESIS, AuditDetailError, ChainLink, canonical, link_hash, plain_detail
from server.db.migrate import alembic_config
from server.db.store import Store
from server.db.tables import AuditRow, Base
from server.privacy.retention import Retention


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("fresh_postgres"))
    return f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(settings_for(database_url).sqlalchemy_url)
    yield opened
    await opened.close()


async def verify_cli(database_url: str) -> tuple[int, str]:
    return await cli(database_url, "audit", "verify")


async def six_entries(store: Store) -> None:
    """seq 1 to 6; seq 2 and 5 about an interview."""
    await store.audit("hr", "plan_edited", None, job_id="j1", version=2)
    await store.audit("hr", "interview_created", "iv-one", mode="text")
    await store.audit("hr", "report_viewed", None)
    await store.audit("system", "report_saved", None, overall=7.5, dimensions={"sql": 8.0, "design": None})
    await store.audit("hr", "candidate_exported", "iv-two")
    await store.audit("hr", "interview_scored", None, overall=6.1, report_version=2)


async def execute(engine: AsyncEngine, *statements: str, **params: Any) -> None:
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement), params)


async def _alter_detail(store: Store) -> None:
    await execute(store.engine, "UPDATE audit_log SET detail = :d WHERE seq = 4", d='{"overall": 9.5}')


async def _delete_middle(store: Store) -> None:
    await execute(store.engine, "DELETE FROM audit_log WHERE seq = 3")


async def _delete_last(store: Store) -> None:
    await execute(store.engine, "DELETE FROM audit_log WHERE seq = 6")


async def _swap(store: Store) -> None:
    await execute(
        store.engine,
        "UPDATE audit_log SET seq = -1 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = -1",
    )


async def _forge(store: Store) -> None:
    """Changes seq 4's detail and writes the hash that content really has, as one who knows the algorithm would."""
    async with AsyncSession(store.engine) as s, s.begin():
        row = (await s.scalars(select(AuditRow).where(AuditRow.seq == 4))).one()
        row.detail = {"overall": 9.5}
        row.row_hash = link_hash(audit_log.stored_entry(row).link)


async def _unlink_by_hand(store: Store) -> None:
    await execute(store.engine, "UPDATE audit_log SET interview_id = NULL, interview_salt = NULL WHERE seq = 5")


async def _other_interview(store: Store) -> None:
    await execute(store.engine, "UPDATE audit_log SET interview_id = 'iv-other' WHERE seq = 2")


TAMPERING: list[tuple[Callable[[Store], Awaitable[None]], str]] = [
    (_alter_detail, "FAILED at seq 4: altered: its content hashes to"),
    (_delete_middle, "FAILED at seq 3: missing: the entry after seq 2 is seq 4"),
    (_delete_last, "FAILED at seq 6: missing: the chain's head is seq 6"),
    (_swap, "FAILED at seq 3: altered: its content hashes to"),
    (_forge, "FAILED at seq 4: altered: its hash was rewritten"),
    (_unlink_by_hand, "FAILED at seq 5: altered: its interview was removed, and no erasure entry names it"),
    (_other_interview, "FAILED at seq 2: altered: its interview_id is not the interview it was written about"),
]


async def with_a_candidate_entry(store: Store) -> None:
    """The six entries, then seq 7 about a candidate without an interview."""
    await six_entries(store)
    await store.audit_candidate("hr", "candidate_created", "cand-one")


CANDIDATE_TAMPERING = [
    (
        "UPDATE audit_log SET candidate_id = NULL, candidate_salt = NULL WHERE seq = 7",
        "FAILED at seq 7: altered: its candidate was removed, and no erasure entry names it",
    ),
    (
        "UPDATE audit_log SET candidate_id = 'cand-other' WHERE seq = 7",
        "FAILED at seq 7: altered: its candidate_id is not the candidate it was written about",
    ),
]


@pytest.mark.parametrize(("statement", "found"), CANDIDATE_TAMPERING, ids=["unlinked", "other"])
async def test_the_cli_names_an_entry_whose_candidate_was_removed_or_changed_by_hand(
    store: Store, database_url: str, statement: str, found: str
) -> None:
    await with_a_candidate_entry(store)
    code, out = await verify_cli(database_url)
    assert code == 0 and out.startswith("OK: 7 entries"), out
    await execute(store.engine, statement)
    code, out = await verify_cli(database_url)
    assert code == 1 and out.startswith(found), out


async def test_an_erasure_unlinks_the_candidates_and_their_interviews_entries_and_the_chain_verifies(
    store: Store, database_url: str
) -> None:
    await with_a_candidate_entry(store)
    async with AsyncSession(store.engine) as s, s.begin():
        unlinked = await audit_log.unlink(s, "cand-one", ["iv-one"])
        await audit_log.append(s, "hr", ERASED, detail={"erasure_id": "er_1", "unlinked": unlinked})
    assert unlinked == [2, 7]
    async with AsyncSession(store.engine) as s:
        rows = {r.seq: r for r in (await s.scalars(select(AuditRow))).all()}
    assert (rows[7].candidate_id, rows[7].candidate_salt, rows[2].interview_id, rows[2].interview_salt) == (None,) * 4
    assert rows[7].candidate_ref and rows[2].interview_ref and rows[5].interview_id == "iv-two"
    code, out = await verify_cli(database_url)
    assert code == 0 and out.startswith("OK: 8 entries"), out


def test_the_canonical_form_is_pinned_so_old_chains_keep_verifying() -> None:
    moment = datetime(2026, 12, 7, 13, 0, 0, 1234, tzinfo=timezone(timedelta(hours=8)))
    link = ChainLink(7, "ab" * 32, moment, "hr", "report_viewed", None, {"b": 1, "a": [1.5, None, "面试"]})
    expected = (
        '{"action":"report_viewed","actor":"hr","created_at":"2026-12-07T05:00:00.001234+00:00",'
        '"detail":{"a":[1.5,null,"面试"],"b":1},"interview_ref":null,"prev_hash":"' + "ab" * 32 + '","seq":7}'
    ).encode()
    assert canonical(link) == expected
    assert link_hash(link) == hashlib.sha256(expected).hexdigest()
    with pytest.raises(AuditDetailError, match="plain JSON"):
        plain_detail({"overall": float("nan")})
    assert plain_detail({"kind": ("a", "b")}) == {"kind": ["a", "b"]} and plain_detail({}) is None


def test_a_candidate_ref_is_hashed_only_in_an_entry_that_has_one() -> None:
    moment = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
    about = ChainLink(8, "ab" * 32, moment, "hr", "candidate_created", None, None, "cd" * 32)
    expected = (
        '{"action":"candidate_created","actor":"hr","candidate_ref":"' + "cd" * 32 + '",'
        '"created_at":"2026-12-07T05:00:00.000000+00:00","detail":null,"interview_ref":null,"prev_hash":"'
        + "ab" * 32
        + '","seq":8}'
    ).encode()
    assert canonical(about) == expected
    assert b"candidate_ref" not in canonical(ChainLink(8, "ab" * 32, moment, "hr", "report_viewed", None, None))


async def test_an_intact_chain_verifies_with_its_entry_count(store: Store, database_url: str) -> None:
    unanchored = f"; 0 anchors checked; no anchor file at {NO_ANCHOR}"
    code, out = await verify_cli(database_url)
    assert (code, out.strip()) == (0, f"OK: 0 entries, seq 1 to 0, head hash {GENESIS}{unanchored}"), out
    await six_entries(store)
    code, out = await verify_cli(database_url)
    state = await audit_log.chain_state(store.engine)
    assert code == 0 and out.strip() == f"OK: 6 entries, seq 1 to 6, head hash {state.head_hash}{unanchored}", out
    async with AsyncSession(store.engine) as s:
        rows = (await s.scalars(select(AuditRow).order_by(AuditRow.seq))).all()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0].prev_hash == GENESIS and all(b.prev_hash == a.row_hash for a, b in itertools.pairwise(rows))
    assert rows[3].detail == {"overall": 7.5, "dimensions": {"sql": 8.0, "design": None}}
    assert rows[1].interview_id == "iv-one" and rows[1].interview_ref and rows[0].interview_ref is None


@pytest.mark.parametrize(("tamper", "found"), TAMPERING, ids=[t.__name__.strip("_") for t, _ in TAMPERING])
async def test_the_cli_names_the_first_entry_not_as_written(
    store: Store, database_url: str, tamper: Callable[[Store], Awaitable[None]], found: str
) -> None:
    await six_entries(store)
    await tamper(store)
    code, out = await verify_cli(database_url)
    assert code == 1 and out.startswith(found), out


async def test_a_database_without_the_chain_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_async_engine(settings_for(url).sqlalchemy_url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0009"))
    await engine.dispose()
    code, out = await verify_cli(url)
    assert code == 2 and "no audit_chain table: migrate it to revision 0010" in out, out


async def test_a_retention_under_six_months_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    code, out = await cli(
        f"sqlite:///{tmp_path / 'a.db'}", "audit", "verify", env={"SHANMIAN_AUDIT_RETENTION_DAYS": "182"}
    )
    assert code == 2 and "SHANMIAN_AUDIT_RETENTION_DAYS=182" in out and "at least six months" in out, out
    assert settings_for("sqlite://", audit_retention_days=183).audit_retention_days == 183
    assert settings_for("sqlite://").audit_retention_days == 365


APPENDER = """
import asyncio, sys
from pathlib import Path
from server.db.store import Store

async def main(url: str, worker: int, count: int, workers: int, ready: Path) -> None:
    store = await Store.open(url)
    (ready / str(worker)).touch()
    while len(list(ready.iterdir())) < workers:  # a barrier: no process begins before every one is connected
        await asyncio.sleep(0.02)
    for n in range(count):
        await store.audit("node", "appended", None, worker=worker, n=n)
        await asyncio.sleep(0.005)  # lets the others at the lock between appends, as a live node's would
    await store.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])))
"""


async def test_appends_from_several_processes_at_once_stay_one_chain(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    workers, each = 4, 40
    ready = tmp_path / "ready"
    ready.mkdir()
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            APPENDER,
            store.engine.url.render_as_string(hide_password=False),
            str(w),
            str(each),
            str(workers),
            str(ready),
            cwd=ROOT,
            stderr=asyncio.subprocess.PIPE,
        )
        for w in range(workers)
    ]
    results = [await asyncio.wait_for(p.communicate(), 180) for p in processes]
    assert [p.returncode for p in processes] == [0] * workers, [err.decode()[-2000:] for _, err in results]
    code, out = await verify_cli(database_url)
    assert code == 0 and out.startswith(f"OK: {workers * each} entries"), out
    async with AsyncSession(store.engine) as s:
        rows = (await s.scalars(select(AuditRow).order_by(AuditRow.seq))).all()
    assert [r.seq for r in rows] == list(range(1, workers * each + 1))
    written = {(r.detail["worker"], r.detail["n"]) for r in rows if r.detail}
    assert written == {(w, n) for w in range(workers) for n in range(each)}, "every append is in the chain once"
    workers_in_order = [r.detail["worker"] for r in rows if r.detail]
    interleaved = sum(1 for a, b in itertools.pairwise(workers_in_order) if a != b)
    assert interleaved > workers - 1, "the processes appended at the same time, not one after another"


async def test_retention_prunes_a_prefix_and_the_chain_still_verifies(database_url: str) -> None:
    settings = settings_for(database_url, audit_retention_days=183)
    store = await Store.open(settings.sqlalchemy_url)
    try:
        now = datetime.now(UTC)
        old, new = now - timedelta(days=200), now - timedelta(days=10)
        async with AsyncSession(store.engine) as s, s.begin():
            for when in (old, old, new, old, new):  # the 4th is older than the 3rd: a node's clock behind
                await audit_log.append(s, "hr", "report_viewed", "iv-x", {"at": when.isoformat()}, clock=fixed(when))
        retention = Retention(store, settings, clock=fixed(now))
        run = await retention.run()
        assert run.counts is not None and run.counts["audit_log"] == 2, (
            "only the prefix seq 1-2: seq 4 waits behind the newer seq 3"
        )
        state = await audit_log.chain_state(store.engine)
        assert (state.start_seq, state.head_seq) == (3, 6)
        code, out = await verify_cli(database_url)
        assert code == 0 and out.startswith("OK: 4 entries, seq 3 to 6"), out
        async with AsyncSession(store.engine) as s:
            pruned = (await s.scalars(select(AuditRow).where(AuditRow.seq == 6))).one()
        assert pruned.action == audit_log.PRUNED and pruned.detail == {
            "through_seq": 2,
            "start_prev_hash": state.start_prev_hash,
        }
        again = await retention.run()
        assert again.counts is not None and "audit_log" not in again.counts, "nothing newer than the limit is pruned"

        await execute(store.engine, "DELETE FROM audit_log WHERE seq = 3")
        code, out = await verify_cli(database_url)
        assert code == 1 and out.startswith("FAILED at seq 3: missing"), "a hole at the new start is still found"
    finally:
        await store.close()


def _audit_diffs(conn: Connection) -> list[Any]:
    diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    return [d for d in diffs if "audit_log" in repr(d) or "audit_chain" in repr(d)]


async def test_the_migration_chains_entries_written_before_it(database_url: str) -> None:
    engine = create_async_engine(settings_for(database_url).sqlalchemy_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0009"))
        await execute(
            engine,
            "INSERT INTO audit_log (interview_id, actor, action, detail) VALUES ('iv-old', 'hr', 'comment_added', :d)",
            "INSERT INTO audit_log (interview_id, actor, action, detail, created_at) VALUES (NULL, 'hr', 'plan_edited',"
            " NULL, :at)",
            "INSERT INTO audit_log (interview_id, actor, action, detail) VALUES ('iv-old', 'candidate', 'ai_notice_accepted',"
            " :d)",
            d='{"comment_id": 1, "score": 7.25}',
            at=datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
        )
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
            assert await conn.run_sync(_audit_diffs) == []
        code, out = await verify_cli(database_url)
        assert code == 0 and out.startswith("OK: 3 entries, seq 1 to 3"), out

        store = Store(engine)
        await store.audit("hr", "report_viewed", "iv-old")
        code, out = await verify_cli(database_url)
        assert code == 0 and out.startswith("OK: 4 entries, seq 1 to 4"), out
        await execute(engine, "UPDATE audit_log SET actor = 'someone' WHERE seq = 2")
        code, out = await verify_cli(database_url)
        assert code == 1 and out.startswith("FAILED at seq 2: altered"), out

        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0009"))
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            columns = await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("audit_log")})
            assert "audit_chain" not in tables and not {"seq", "row_hash", "interview_ref"} & columns
            assert (await conn.execute(text("SELECT count(*) FROM audit_log"))).scalar_one() == 4
    finally:
        await engine.dispose()
