"""`GET /v1/audit?format=jsonl` streams the hash-chained audit log as JSON lines with every hash field, and
`GET /v1/audit/verify` walks the chain (server/db/audit_log.py) and names the first entry that is not as written, or
not as this node's anchor file (server/audit_anchor.py) recorded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

import msgspec
from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream
from msgspec import Struct

from server.audit_anchor import read_anchors
from server.auth import role_guard
from server.db import audit_log
from server.db.audit_log import AuditFilter
from server.db.store import Store
from server.db.tables import AuditRow
from server.errors import bad_request, errors
from server.people import Principal
from server.settings import Settings

JSONL = "application/jsonl"
_MOMENT = "YYYY-MM-DD (UTC) or an ISO 8601 moment with its offset"


class AuditLineOut(Struct):
    """One entry as exported: the hashed fields, the hashes, and the interview's and candidate's ids with the salts
    of their references (null once the candidate was erased), so anyone holding the file can recompute every hash."""

    seq: int
    created_at: datetime
    actor: str
    action: str
    interview_id: str | None
    interview_salt: str | None
    interview_ref: str | None
    detail: dict[str, Any] | None
    prev_hash: str
    hash: str
    candidate_id: str | None
    candidate_salt: str | None
    candidate_ref: str | None  # in the hashed form only when not null


class AuditProblemOut(Struct):
    seq: int
    what: str


class AuditVerifyOut(Struct):
    ok: bool
    rows: int  # entries checked
    start_seq: int  # where the chain starts (after retention pruned a prefix, past 1)
    head_seq: int
    head_hash: str
    problem: AuditProblemOut | None
    anchors_checked: int = 0  # heads in this node's anchor file checked against the chain
    anchors_pruned: int = 0  # anchors older than the chain's start: their entries were pruned, not checkable


def line_of(row: AuditRow) -> AuditLineOut:
    return AuditLineOut(
        row.seq, row.created_at, row.actor, row.action, row.interview_id, row.interview_salt, row.interview_ref,
        row.detail, row.prev_hash, row.row_hash, row.candidate_id, row.candidate_salt, row.candidate_ref,
    )  # fmt: skip


def _moment(name: str, text: str | None, *, end: bool) -> datetime | None:
    """A day means all of it: `from` its first moment, `to` up to the next day's."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = datetime.combine(date.fromisoformat(text), time(), UTC)
            return day + timedelta(days=1) if end else day
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{name}: {text!r} is not {_MOMENT}") from None
    if moment.tzinfo is None:
        raise bad_request(f"{name}: {text!r} has no UTC offset; add one (e.g. Z or +08:00)")
    return moment.astimezone(UTC)


async def _lines(store: Store, which: AuditFilter) -> AsyncIterator[bytes]:
    async for batch in audit_log.rows(store.engine, which):
        yield b"".join(msgspec.json.encode(line_of(r)) + b"\n" for r in batch)


@get("/v1/audit", guards=[role_guard], tags=["audit"], responses=errors(400, 401), media_type=JSONL)
async def export_audit(
    store: NamedDependency[Store],
    principal: NamedDependency[Principal],
    format: Annotated[Literal["jsonl"], QueryParameter(description="jsonl: one entry per line")] = "jsonl",
    start_text: Annotated[str | None, QueryParameter(name="from", description=f"entries from ({_MOMENT})")] = None,
    end_text: Annotated[str | None, QueryParameter(name="to", description=f"entries until ({_MOMENT})")] = None,
    interview_id: Annotated[str | None, QueryParameter(description="one interview's entries")] = None,
    candidate_id: Annotated[
        str | None, QueryParameter(description="one candidate's entries not about one of their interviews")
    ] = None,
) -> Stream:
    """The audit log in sequence order, as JSON lines with `prev_hash` and `hash`: `shanmian audit verify` or
    `GET /v1/audit/verify` checks the chain in the database; the file lets anyone recompute it."""
    which = AuditFilter(
        _moment("from", start_text, end=False), _moment("to", end_text, end=True), interview_id, candidate_id
    )
    if which.start is not None and which.end is not None and which.start >= which.end:
        raise bad_request(f"from ({start_text}) is not before to ({end_text})")
    # Linked to the interview or candidate only while it exists: an erased candidate's ids must not come back.
    linked = interview_id if interview_id is not None and await store.interview(interview_id) is not None else None
    whom = candidate_id if candidate_id is not None and await store.candidate(candidate_id) is not None else None
    detail = {"from": start_text, "to": end_text, "format": format, "one_interview": interview_id is not None}
    detail |= {"one_candidate": True} if candidate_id is not None else {}
    await store.audit_candidate(principal.actor, "audit_exported", whom, linked, **detail)
    return Stream(_lines(store, which), media_type=JSONL)


@get("/v1/audit/verify", guards=[role_guard], tags=["audit"], responses=errors(401))
async def verify_audit(store: NamedDependency[Store], settings: NamedDependency[Settings]) -> AuditVerifyOut:
    """Recomputes every entry's hash from its start to its head and checks the heads in this node's anchor file;
    `problem` names the first entry that was altered, removed or reordered, or rewritten since it was anchored
    (`ok` false)."""
    try:  # before the head is read: see audit_log.verify
        anchors = (await asyncio.to_thread(read_anchors, settings.audit_anchor_path)).anchors
    except FileNotFoundError:
        anchors = []
    verdict = await audit_log.verify(store.engine, anchors)
    problem = None if verdict.problem is None else AuditProblemOut(verdict.problem.seq, verdict.problem.what)
    state = verdict.state
    return AuditVerifyOut(
        verdict.ok, verdict.rows, state.start_seq, state.head_seq, state.head_hash, problem,
        verdict.anchors_checked, verdict.anchors_pruned,
    )  # fmt: skip
