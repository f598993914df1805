"""The audit head anchored outside the database, on a fresh SQLite file and a fresh PostgreSQL database: the anchor
round appends the head only when it moved; a chain rewritten consistently from one entry to its head passes the
walk in the database but fails `shanmian audit verify` (the real CLI) at the first anchored entry it changed, as
does one cut back below an anchored head; anchors of entries retention pruned are skipped and counted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from audit_testkit import DATABASES, cli, fixed, settings_for
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit_anchor import HeadAnchor, read_anchors
from server.db import audit_log
from server.db.audit_chain import link_hash
from server.db.store import Store
from server.db.tables import AuditChainRow, AuditRow
from server.privacy.retention import Retention

AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


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


@pytest.fixture
def anchor_path(tmp_path: Path) -> Path:
    return tmp_path / "anchors" / "audit-anchor.jsonl"


async def entries(store: Store, count: int) -> None:
    for n in range(count):
        await store.audit("hr", "report_viewed", None, n=n)


async def verify_with(database_url: str, anchor: Path) -> tuple[int, str]:
    return await cli(database_url, "audit", "verify", env={"SHANMIAN_AUDIT_ANCHOR": str(anchor)})


async def rewrite_from(store: Store, seq: int) -> None:
    """Changes entry `seq` and re-hashes it and every later entry, and the head, as one who can write the database
    and knows the algorithm would: the chain stays whole."""
    async with AsyncSession(store.engine) as s, s.begin():
        rows = (await s.scalars(select(AuditRow).where(AuditRow.seq >= seq).order_by(AuditRow.seq))).all()
        rows[0].detail = {"n": 99}
        previous = rows[0].prev_hash
        for row in rows:
            row.prev_hash = previous
            row.row_hash = previous = link_hash(audit_log.stored_entry(row).link)
        await s.execute(update(AuditChainRow).values(head_hash=previous))


async def test_the_round_anchors_the_head_only_when_it_moved(store: Store, anchor_path: Path) -> None:
    anchor = HeadAnchor(store.engine, anchor_path, 60, clock=fixed(AT))
    assert await anchor.anchor() is None, "an empty chain has no head to anchor"
    assert not await asyncio.to_thread(anchor_path.exists)
    await entries(store, 3)
    first = await anchor.anchor()
    state = await audit_log.chain_state(store.engine)
    assert first is not None and (first.seq, first.hash, first.at) == (3, state.head_hash, AT)
    assert await anchor.anchor() is None
    restarted = HeadAnchor(store.engine, anchor_path, 60)
    assert await restarted.anchor() is None, "a node started again does not anchor the head its file already holds"
    await entries(store, 1)
    second = await restarted.anchor()
    assert second is not None and second.seq == 4
    lines = [json.loads(line) for line in (await asyncio.to_thread(anchor_path.read_text)).splitlines()]
    assert [line["seq"] for line in lines] == [3, 4] and lines[0] == {
        "seq": 3,
        "hash": state.head_hash,
        "at": AT.isoformat(),
    }


async def test_closing_the_round_anchors_the_last_head(store: Store, anchor_path: Path) -> None:
    anchor = HeadAnchor(store.engine, anchor_path, 3600)
    anchor.start()
    await entries(store, 2)
    await anchor.aclose()
    assert [a.seq for a in read_anchors(anchor_path).anchors][-1] == 2


async def test_a_chain_rewritten_to_its_head_passes_in_the_database_and_fails_against_its_anchors(
    store: Store, database_url: str, anchor_path: Path, tmp_path: Path
) -> None:
    anchor = HeadAnchor(store.engine, anchor_path, 60, clock=fixed(AT))
    await entries(store, 4)
    await anchor.anchor()
    await entries(store, 3)
    await anchor.anchor()
    code, out = await verify_with(database_url, anchor_path)
    assert code == 0 and out.strip().endswith(f"; 2 anchors checked; from {anchor_path}"), out

    await rewrite_from(store, 3)
    assert (await audit_log.verify(store.engine)).ok, "the walk in the database alone cannot tell"
    code, out = await verify_with(database_url, tmp_path / "elsewhere.jsonl")
    assert code == 0 and out.startswith("OK: 7 entries"), out
    code, out = await verify_with(database_url, anchor_path)
    assert code == 1, out
    assert out.startswith(f"FAILED at seq 4: rewritten: the head anchored at {AT.isoformat()} has hash"), out


async def test_a_chain_cut_back_below_an_anchored_head_fails(
    store: Store, database_url: str, anchor_path: Path
) -> None:
    await entries(store, 5)
    await HeadAnchor(store.engine, anchor_path, 60, clock=fixed(AT)).anchor()
    async with AsyncSession(store.engine) as s, s.begin():
        kept = (await s.scalars(select(AuditRow).where(AuditRow.seq == 3))).one()
        await s.execute(delete(AuditRow).where(AuditRow.seq > 3))
        await s.execute(update(AuditChainRow).values(head_seq=3, head_hash=kept.row_hash))
    code, out = await verify_with(database_url, anchor_path)
    assert code == 1 and out.startswith("FAILED at seq 5: missing: the head anchored at"), out
    assert "the chain's head is seq 3" in out, out


async def test_anchors_of_pruned_entries_are_skipped_and_the_chain_verifies(
    database_url: str, anchor_path: Path
) -> None:
    settings = settings_for(database_url, audit_retention_days=183)
    store = await Store.open(settings.sqlalchemy_url)
    try:
        now = datetime.now(UTC)
        old = now - timedelta(days=200)
        anchor = HeadAnchor(store.engine, anchor_path, 60)
        async with AsyncSession(store.engine) as s, s.begin():
            await audit_log.append(s, "hr", "report_viewed", clock=fixed(old))
        await anchor.anchor()  # seq 1: pruned below
        async with AsyncSession(store.engine) as s, s.begin():
            await audit_log.append(s, "hr", "report_viewed", clock=fixed(old))
        await anchor.anchor()  # seq 2: the last pruned entry, which the chain's new start chains to
        await entries(store, 2)
        await anchor.anchor()  # seq 4
        run = await Retention(store, settings, clock=fixed(now)).run()
        assert run.counts is not None and run.counts["audit_log"] == 2
        code, out = await verify_with(database_url, anchor_path)
        assert code == 0, out
        assert out.startswith("OK: 3 entries, seq 3 to 5"), out
        assert "; 2 anchors checked, 1 older than the chain's start skipped (their entries were pruned);" in out, out

        async with AsyncSession(store.engine) as s, s.begin():
            await s.execute(update(AuditChainRow).values(start_prev_hash="f" * 64))
            await s.execute(update(AuditRow).where(AuditRow.seq == 3).values(prev_hash="f" * 64))
        await rewrite_from(store, 3)
        code, out = await verify_with(database_url, anchor_path)
        assert code == 1 and out.startswith("FAILED at seq 2: rewritten"), (
            "the start is checked by the anchor before it"
        )
    finally:
        await store.close()


async def test_unreadable_lines_are_left_out_and_a_named_file_must_exist(
    store: Store, database_url: str, anchor_path: Path, tmp_path: Path
) -> None:
    await entries(store, 2)
    await HeadAnchor(store.engine, anchor_path, 60).anchor()
    with anchor_path.open("a") as file:
        file.write('{"seq": 7, "hash": "ab"\n')  # cut short by a crash mid-write
    code, out = await verify_with(database_url, anchor_path)
    assert code == 0 and out.strip().endswith(f"1 anchors checked; from {anchor_path} (1 unreadable lines left out)")
    code, out = await cli(database_url, "audit", "verify", "--anchor", str(tmp_path / "gone.jsonl"))
    assert code == 2 and f"no anchor file {tmp_path / 'gone.jsonl'}" in out, out
