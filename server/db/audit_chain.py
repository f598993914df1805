"""The audit log's hash chain, as pure functions: the canonical form of an entry, its hash, the salted references to
an interview and to a candidate, and the walk that finds the first altered, missing or unlinked entry, or the first
entry that is not the one a head anchored outside the database recorded.

Each entry's hash covers its sequence number, the previous entry's hash, its moment, actor, action, interview and
candidate references and detail, so changing, removing or reordering any entry breaks the chain at that entry.
Rewriting every entry from one to the head, and the head, keeps the chain whole: an anchor, a (seq, hash) of a past
head kept where the database's writers cannot reach, is what still tells.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64  # the previous hash of the very first entry
ERASED = "candidate_erased"  # the action whose detail names the entries an erasure unlinked from whom they were about


class AuditDetailError(ValueError):
    """An audit detail that is not plain JSON (a NaN, a value json cannot write): it could not be hashed stably."""


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One entry as the chain hashes it. `interview_ref` stands for the interview and `candidate_ref` for the
    candidate it is about (see `salted_ref`)."""

    seq: int
    prev_hash: str
    created_at: datetime
    actor: str
    action: str
    interview_ref: str | None
    detail: dict[str, Any] | None
    candidate_ref: str | None = None


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as stored: the hashed link, its hash, the interview and the candidate it names with the salts of
    their references (each None once an erasure unlinked it)."""

    link: ChainLink
    row_hash: str
    interview_id: str | None
    interview_salt: str | None
    candidate_id: str | None = None
    candidate_salt: str | None = None


@dataclass(frozen=True, slots=True)
class ChainState:
    """Where the chain starts (after pruning, the first kept entry and the hash it chains to) and where it ends."""

    start_seq: int
    start_prev_hash: str
    head_seq: int
    head_hash: str


@dataclass(frozen=True, slots=True)
class Anchor:
    """A head of the chain as it was at `at`, recorded outside the database (server/audit_anchor.py)."""

    seq: int
    hash: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Problem:
    """The first entry that is not as written: its sequence number and what differs."""

    seq: int
    what: str


@dataclass(frozen=True, slots=True)
class Verdict:
    rows: int
    state: ChainState
    problem: Problem | None
    anchors_checked: int = 0
    anchors_pruned: int = 0  # older than the chain's start (retention deleted their entries): not checkable

    @property
    def ok(self) -> bool:
        return self.problem is None


def plain_detail(detail: dict[str, Any] | None) -> dict[str, Any] | None:
    """The detail as JSON gives it back (enums as their values, tuples as lists), so what is hashed is what is
    stored and read back."""
    if not detail:
        return None
    try:
        plain: dict[str, Any] = json.loads(json.dumps(detail, allow_nan=False))
        return plain
    except (TypeError, ValueError) as exc:
        raise AuditDetailError(f"an audit detail must be plain JSON: {exc}") from exc


def canonical(link: ChainLink) -> bytes:
    """Sorted-key compact JSON of every hashed field; the moment in UTC to the microsecond. `candidate_ref` only
    when there is one: entries written before it existed keep their hashes."""
    document: dict[str, Any] = {
        "seq": link.seq,
        "prev_hash": link.prev_hash,
        "created_at": link.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": link.actor,
        "action": link.action,
        "interview_ref": link.interview_ref,
        "detail": link.detail,
    }
    if link.candidate_ref is not None:
        document["candidate_ref"] = link.candidate_ref
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(link: ChainLink) -> str:
    return hashlib.sha256(canonical(link)).hexdigest()


def new_salt() -> str:
    return secrets.token_hex(16)


def salted_ref(salt: str, subject_id: str) -> str:
    """The hashed stand-in for an interview's or a candidate's id. An erasure deletes the id and its salt from the
    entry and the chain still verifies; without the salt nobody can tell whom the entry was about, even knowing the
    id."""
    return hashlib.sha256(f"{salt}:{subject_id}".encode()).hexdigest()


def _link_problem(subject: str, ref: str | None, subject_id: str | None, salt: str | None) -> str | None:
    """What is wrong with an entry's id and salt for its reference; "unlinked" when both were removed."""
    if subject_id is None and salt is None:
        return None if ref is None else "unlinked"
    if subject_id is None or salt is None or salted_ref(salt, subject_id) != ref:
        return f"altered: its {subject}_id is not the {subject} it was written about"
    return None


def _rewritten(anchor: Anchor, found: str) -> Problem:
    return Problem(
        anchor.seq,
        f"rewritten: the head anchored at {anchor.at.isoformat()} has hash {anchor.hash}, the chain has {found}",
    )


@dataclass(slots=True)
class ChainWalk:
    """Verifies entries fed in sequence order against the chain state and the anchors; `finish` gives the verdict.

    An anchor of an entry the chain holds must match its hash; one of the entry just before the chain's start
    (pruned) the start's `prev_hash`; one past the head means entries after it were removed. Older ones are counted
    as pruned: retention deleted what they could be checked against."""

    state: ChainState
    anchors: Sequence[Anchor] = ()
    rows: int = 0
    problem: Problem | None = None
    anchors_checked: int = 0
    anchors_pruned: int = 0
    _last_seq: int = field(init=False)
    _last_hash: str = field(init=False)
    _unlinked: dict[int, str] = field(default_factory=dict)  # seq -> what was removed, until an erasure names it
    _anchored: dict[int, list[Anchor]] = field(default_factory=dict)
    _beyond_head: list[Anchor] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._last_seq = self.state.start_seq - 1
        self._last_hash = self.state.start_prev_hash
        for anchor in self.anchors:
            if anchor.seq < self._last_seq:
                self.anchors_pruned += 1
            elif anchor.seq > self.state.head_seq:
                self._beyond_head.append(anchor)
            else:
                self._anchored.setdefault(anchor.seq, []).append(anchor)
        self.problem = self._check_anchors(self._last_seq, self._last_hash)

    def _check_anchors(self, seq: int, found: str) -> Problem | None:
        for anchor in self._anchored.pop(seq, []):
            self.anchors_checked += 1
            if anchor.hash != found:
                return _rewritten(anchor, found)
        return None

    def feed(self, entries: Iterable[StoredEntry]) -> bool:
        """Checks the entries; False once a problem is found (feed no more)."""
        for entry in entries:
            if self.problem is not None:
                return False
            self.problem = self._check(entry)
            self.rows += 1
        return self.problem is None

    def _check(self, entry: StoredEntry) -> Problem | None:
        link, expected = entry.link, self._last_seq + 1
        if link.seq > expected:
            return Problem(expected, f"missing: the entry after seq {self._last_seq} is seq {link.seq}")
        if link.seq < expected:
            return Problem(link.seq, f"out of order: it comes after seq {self._last_seq}")
        computed = link_hash(link)
        if computed != entry.row_hash:
            return Problem(link.seq, f"altered: its content hashes to {computed}, its stored hash is {entry.row_hash}")
        if link.prev_hash != self._last_hash:
            if link.seq == self.state.start_seq:
                return Problem(link.seq, f"it chains to {link.prev_hash}, the chain starts from {self._last_hash}")
            return Problem(
                self._last_seq,
                f"altered: its hash was rewritten to {self._last_hash}; seq {link.seq} chained {link.prev_hash}",
            )
        for subject, ref, subject_id, salt in (
            ("interview", link.interview_ref, entry.interview_id, entry.interview_salt),
            ("candidate", link.candidate_ref, entry.candidate_id, entry.candidate_salt),
        ):
            problem = _link_problem(subject, ref, subject_id, salt)
            if problem == "unlinked":
                self._unlinked.setdefault(link.seq, subject)
            elif problem is not None:
                return Problem(link.seq, problem)
        if link.action == ERASED and link.detail is not None:
            for seq in link.detail.get("unlinked", []):
                self._unlinked.pop(seq, None)
        self._last_seq, self._last_hash = link.seq, entry.row_hash
        return self._check_anchors(link.seq, entry.row_hash)

    def finish(self) -> Verdict:
        if self.problem is None:
            self.problem = self._end()
        return Verdict(self.rows, self.state, self.problem, self.anchors_checked, self.anchors_pruned)

    def _end(self) -> Problem | None:
        head = self.state
        if self._last_seq < head.head_seq:
            return Problem(self._last_seq + 1, f"missing: the chain's head is seq {head.head_seq}")
        if self._last_hash != head.head_hash:
            return Problem(
                self._last_seq, f"altered: its hash is {self._last_hash}, the chain head records {head.head_hash}"
            )
        if self._unlinked:
            seq, subject = next(iter(self._unlinked.items()))
            return Problem(seq, f"altered: its {subject} was removed, and no erasure entry names it")
        if self._beyond_head:
            anchor = min(self._beyond_head, key=lambda a: a.seq)
            self.anchors_checked += 1
            return Problem(
                anchor.seq,
                f"missing: the head anchored at {anchor.at.isoformat()} is seq {anchor.seq} (hash {anchor.hash}), "
                f"the chain's head is seq {head.head_seq}",
            )
        return None
