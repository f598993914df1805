"""The audit log in the database: appending an entry to the hash chain under the chain's lock, reading entries back
in order (export, verification), unlinking an erased candidate's entries from them and their interviews, pruning a
prefix.

Every write here runs inside its caller's transaction, so an entry commits with what it records, or not at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, delete, func, inspect, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.db.audit_chain import (
    Anchor,
    ChainLink,
    ChainState,
    ChainWalk,
    StoredEntry,
    Verdict,
    link_hash,
    new_salt,
    plain_detail,
    salted_ref,
)
from server.db.tables import AuditChainRow, AuditRow

CHAIN_ID = 1  # the one row of `audit_chain`
BATCH = 500
PRUNED = "audit_pruned"


class AuditChainMissing(RuntimeError):
    """The database has no audit chain state row: it was not migrated to revision 0010 or later."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries an export reads: created in [start, end), about one interview, about one candidate (without
    an interview: see `append`), each when given."""

    start: datetime | None = None
    end: datetime | None = None
    interview_id: str | None = None
    candidate_id: str | None = None


def stored_entry(row: AuditRow) -> StoredEntry:
    link = ChainLink(
        seq=row.seq,
        prev_hash=row.prev_hash,
        created_at=row.created_at,
        actor=row.actor,
        action=row.action,
        interview_ref=row.interview_ref,
        detail=row.detail,
        candidate_ref=row.candidate_ref,
    )
    return StoredEntry(link, row.row_hash, row.interview_id, row.interview_salt, row.candidate_id, row.candidate_salt)


def _state(row: AuditChainRow) -> ChainState:
    return ChainState(row.start_seq, row.start_prev_hash, row.head_seq, row.head_hash)


async def _locked_chain(s: AsyncSession) -> AuditChainRow:
    """The chain's state row, locked until the transaction ends. A write first: the no-op UPDATE takes SQLite's
    write lock at once (a read first could not upgrade past another writer) and PostgreSQL's row lock, so each
    appender reads the head the previous one committed."""
    touched: CursorResult[Any] = await s.execute(  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
        update(AuditChainRow).where(AuditChainRow.id == CHAIN_ID).values(head_seq=AuditChainRow.head_seq)
    )
    if touched.rowcount != 1:
        raise AuditChainMissing("the audit_chain table has no state row: migrate the database to revision 0010")
    query = select(AuditChainRow).where(AuditChainRow.id == CHAIN_ID).execution_options(populate_existing=True)
    return (await s.scalars(query)).one()


async def append(
    s: AsyncSession,
    actor: str,
    action: str,
    interview_id: str | None = None,
    detail: dict[str, Any] | None = None,
    *,
    candidate_id: str | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> AuditRow:
    """Appends one entry in the session's transaction; `candidate_id` for an entry about a candidate that no
    interview of theirs stands for (created, self-identified, read before any interview). Each link has a salt of
    its own, so two entries about the same person cannot be matched once an erasure removed the salts. Take this
    lock last in a transaction that locks other rows, as every caller does, so that appenders never wait on each
    other in a cycle."""
    chain = await _locked_chain(s)
    salt = new_salt() if interview_id is not None else None
    candidate_salt = new_salt() if candidate_id is not None else None
    link = ChainLink(
        seq=chain.head_seq + 1,
        prev_hash=chain.head_hash,
        created_at=clock(),
        actor=actor,
        action=action,
        interview_ref=salted_ref(salt, interview_id) if salt and interview_id is not None else None,
        detail=plain_detail(detail),
        candidate_ref=salted_ref(candidate_salt, candidate_id) if candidate_salt and candidate_id is not None else None,
    )
    row_hash = link_hash(link)
    row = AuditRow(
        seq=link.seq,
        interview_id=interview_id,
        interview_salt=salt,
        interview_ref=link.interview_ref,
        candidate_id=candidate_id,
        candidate_salt=candidate_salt,
        candidate_ref=link.candidate_ref,
        actor=actor,
        action=action,
        detail=link.detail,
        created_at=link.created_at,
        prev_hash=link.prev_hash,
        row_hash=row_hash,
    )
    s.add(row)
    chain.head_seq, chain.head_hash = link.seq, row_hash
    await s.flush()
    return row


async def unlink(s: AsyncSession, candidate_id: str, interview_ids: list[str]) -> list[int]:
    """Removes the candidate's id and these interviews' ids (and their salts) from their entries, which stay in the
    chain; returns the entries' sequence numbers, for the erasure's own entry to name. The chain is locked first, as
    for an append: a prune waiting on these entries' row locks while holding the chain would otherwise deadlock with
    the erasure."""
    await _locked_chain(s)
    about_candidate = AuditRow.candidate_id == candidate_id
    about_interviews = AuditRow.interview_id.in_(interview_ids)
    seqs = await s.scalars(select(AuditRow.seq).where(or_(about_candidate, about_interviews)).order_by(AuditRow.seq))
    unlinked = list(seqs)
    await s.execute(update(AuditRow).where(about_candidate).values(candidate_id=None, candidate_salt=None))
    if interview_ids:
        await s.execute(update(AuditRow).where(about_interviews).values(interview_id=None, interview_salt=None))
    return unlinked


async def prune_before(s: AsyncSession, before: datetime, actor: str) -> int:
    """Deletes the chain's longest prefix of entries created before `before`, moves the chain's start past them and
    records that as an entry; returns how many were deleted. Only a prefix: an older entry after a newer one (a
    node's clock behind) waits for the newer."""
    chain = await _locked_chain(s)
    first_new = await s.scalar(select(func.min(AuditRow.seq)).where(AuditRow.created_at >= before))
    first_kept = chain.head_seq + 1 if first_new is None else first_new
    if first_kept <= chain.start_seq:
        return 0
    last_gone = first_kept - 1
    last_hash = await s.scalar(select(AuditRow.row_hash).where(AuditRow.seq == last_gone))
    if last_hash is None:
        raise AuditChainMissing(f"audit entry seq {last_gone} is missing: verify the chain before pruning")
    deleted: CursorResult[Any] = await s.execute(  # type: ignore[assignment]
        delete(AuditRow).where(AuditRow.seq <= last_gone)
    )
    chain.start_seq, chain.start_prev_hash = first_kept, last_hash
    await append(s, actor, PRUNED, detail={"through_seq": last_gone, "start_prev_hash": last_hash})
    return max(deleted.rowcount, 0)


async def chain_state(engine: AsyncEngine) -> ChainState:
    async with engine.connect() as conn:
        if not await conn.run_sync(lambda c: inspect(c).has_table(AuditChainRow.__tablename__)):
            raise AuditChainMissing("the database has no audit_chain table: migrate it to revision 0010")
    async with async_sessionmaker(engine)() as s:
        row = await s.get(AuditChainRow, CHAIN_ID)
    if row is None:
        raise AuditChainMissing("the audit_chain table has no state row: migrate the database to revision 0010")
    return _state(row)


async def rows(
    engine: AsyncEngine, which: AuditFilter = AuditFilter(), *, upto_seq: int | None = None
) -> AsyncIterator[list[AuditRow]]:
    """The entries in sequence order, a batch per short read, so a long export holds no transaction open."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    after = 0
    while True:
        query = select(AuditRow).where(AuditRow.seq > after).order_by(AuditRow.seq).limit(BATCH)
        if upto_seq is not None:
            query = query.where(AuditRow.seq <= upto_seq)
        if which.start is not None:
            query = query.where(AuditRow.created_at >= which.start)
        if which.end is not None:
            query = query.where(AuditRow.created_at < which.end)
        if which.interview_id is not None:
            query = query.where(AuditRow.interview_id == which.interview_id)
        if which.candidate_id is not None:
            query = query.where(AuditRow.candidate_id == which.candidate_id)
        async with sessions() as s:
            batch = list((await s.scalars(query)).all())
        if not batch:
            return
        yield batch
        after = batch[-1].seq


async def verify(engine: AsyncEngine, anchors: Sequence[Anchor] = ()) -> Verdict:
    """Walks the chain from its start to the head recorded when the walk began (entries appended meanwhile are
    left for the next walk), checking it against the anchors. Read them before calling: an anchor written after the
    head was read could name an entry past it, as if entries had been removed."""
    walk = ChainWalk(await chain_state(engine), anchors)
    async for batch in rows(engine, upto_seq=walk.state.head_seq):
        # Hashing a batch is CPU work: off the event loop, which a server verifying a long chain still needs.
        if not await asyncio.to_thread(walk.feed, [stored_entry(r) for r in batch]):
            break
    return walk.finish()
