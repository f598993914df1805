"""Invitations to a job: who is invited, the life of their link (open, expired, revoked), and the Idempotency-Key
rule by which a retried invite answers the same and sends nothing twice, while a concurrent duplicate is refused.

`Inviter` runs an invite through a store it is given (the server's is server/db/invitations.py) and a clock; the
rest are plain decisions. Nothing here sends: the e-mails it composes go to the store with the invitations.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from enum import StrEnum
from typing import Literal, Protocol

from hr.calendar_invite import Person
from hr.invitation_email import InvitationLetter, invitation_email, is_address

Clock = Callable[[], datetime]
Language = Literal["en", "zh"]

DEFAULT_EXPIRY = timedelta(days=14)
# How long a key is remembered: a client retrying a lost answer does so within minutes, not days (Stripe keeps 24 h).
KEY_TTL = timedelta(hours=24)
# A key whose request died mid-way (its node stopped) is taken over after this; nothing was written for it, since
# the invitations, their e-mails and events commit together with the key's answer.
KEY_LEASE = timedelta(seconds=60)
MAX_BATCH = 500


class LinkState(StrEnum):
    OPEN = "open"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Invitation:
    """One candidate invited to one job, with the interview their link opens and the link's secret `token`."""

    id: str
    job_id: str
    candidate_id: str
    interview_id: str
    token: str
    language: Language
    mode: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def state(self, now: datetime) -> LinkState:
        if self.revoked_at is not None:
            return LinkState.REVOKED
        return LinkState.EXPIRED if now >= self.expires_at else LinkState.OPEN


class InvitationError(Exception):
    """An invite or a link the rules refuse; `code` is stable for programs, the message is for people."""

    code = "invitation_refused"


class LinkClosedError(InvitationError):
    """The candidate's link no longer opens the interview; the message is in the invitation's language."""


class LinkExpiredError(LinkClosedError):
    code = "invitation_expired"


class LinkRevokedError(LinkClosedError):
    code = "invitation_revoked"


_CLOSED = {
    "en": {
        LinkState.EXPIRED: "This invitation expired on {when} (UTC). Please ask the employer for a new one.",
        LinkState.REVOKED: "This invitation was withdrawn by the employer. Please contact them if you think this "
        "is a mistake.",
    },
    "zh": {
        LinkState.EXPIRED: "此邀请已于{when}（UTC）过期。请联系招聘方重新发送邀请。",
        LinkState.REVOKED: "招聘方已撤回此邀请。如您认为有误，请与其联系。",
    },
}


def check_link(invitation: Invitation, now: datetime) -> None:
    """Nothing if the link opens the interview now; otherwise why not, in the candidate's language."""
    state = invitation.state(now)
    if state is LinkState.OPEN:
        return
    words = _CLOSED[invitation.language][state].format(when=f"{invitation.expires_at:%Y-%m-%d %H:%M}")
    raise LinkRevokedError(words) if state is LinkState.REVOKED else LinkExpiredError(words)


# --- the invite -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InviteRequest:
    job_id: str
    candidate_ids: tuple[str, ...]
    mode: str
    expires_in: timedelta


@dataclass(frozen=True, slots=True)
class InviteJob:
    id: str
    title: str
    language: Language
    ready: bool  # False while its plan is being drafted: no interview can be pinned to a plan yet


@dataclass(frozen=True, slots=True)
class Invitee:
    id: str
    name: str
    email: str | None  # None: invited all the same; HR hands over the link another way


@dataclass(frozen=True, slots=True)
class PlannedInvitation:
    """An invitation and the e-mail that carries its link, with the id it has in the outbox (both None when the
    candidate has no address)."""

    invitation: Invitation
    email: EmailMessage | None
    mail_id: str | None


class UnknownJobError(InvitationError):
    code = "unknown_job"


class JobNotReadyError(InvitationError):
    code = "job_not_ready"


class UnknownCandidatesError(InvitationError):
    code = "unknown_candidates"


class DuplicateCandidatesError(InvitationError):
    code = "duplicate_candidates"


class InvalidAddressError(InvitationError):
    code = "invalid_email"


class KeyInProgressError(InvitationError):
    """Another request with the same Idempotency-Key is being handled right now."""

    code = "idempotency_key_in_use"


class KeyReusedError(InvitationError):
    """The Idempotency-Key was used with another body."""

    code = "idempotency_key_reused"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What the store remembers of an Idempotency-Key: the body's fingerprint and, once done, the answer."""

    key: str
    fingerprint: str
    created_at: datetime
    locked_until: datetime
    answer: str | None = None  # None while the request is being handled
    status_code: int | None = None


class KeyDecision(StrEnum):
    PROCEED = "proceed"  # a new key (or a forgotten or abandoned one): handle the request
    REPLAY = "replay"  # the same body was handled: answer what it answered, do nothing
    IN_PROGRESS = "in_progress"  # the same body is being handled right now: 409
    MISMATCH = "mismatch"  # another body under this key: 422


def fingerprint(canonical_body: bytes) -> str:
    return hashlib.sha256(canonical_body).hexdigest()


def decide(record: KeyRecord | None, body_fingerprint: str, now: datetime) -> KeyDecision:
    """What a request carrying a key must do, given what the store holds for that key."""
    if record is None or now >= record.created_at + KEY_TTL:
        return KeyDecision.PROCEED
    if record.fingerprint != body_fingerprint:
        return KeyDecision.MISMATCH
    if record.answer is not None:
        return KeyDecision.REPLAY
    return KeyDecision.IN_PROGRESS if now < record.locked_until else KeyDecision.PROCEED


def plan_invitations(
    request: InviteRequest,
    job: InviteJob | None,
    invitees: Sequence[Invitee],
    *,
    now: datetime,
    link_for: Callable[[Invitation], str],
    sender: Person,
    message_domain: str,
) -> list[PlannedInvitation]:
    """One invitation per candidate, in the order asked, each with its e-mail; or an InvitationError saying why not."""
    if job is None:
        raise UnknownJobError(f"job_id {request.job_id!r} does not exist; create it with POST /v1/jobs first")
    if not job.ready:
        raise JobNotReadyError(
            f"job {job.id}'s plan is still being drafted; poll GET /v1/jobs/{job.id} until it is ready"
        )
    twice = sorted(c for c, n in Counter(request.candidate_ids).items() if n > 1)
    if twice:
        raise DuplicateCandidatesError(f"candidates listed more than once: {', '.join(twice)}")
    known = {i.id: i for i in invitees}
    missing = [c for c in request.candidate_ids if c not in known]
    if missing:
        raise UnknownCandidatesError(
            f"candidate ids that do not exist: {', '.join(missing)}; create them with POST /v1/candidates first"
        )
    unusable = [
        f"{c} ({known[c].email!r})"
        for c in request.candidate_ids
        if known[c].email and not is_address(known[c].email or "")
    ]
    if unusable:
        raise InvalidAddressError(
            f"candidates whose e-mail is not an address: {', '.join(unusable)}; create each again with a valid "
            "address (POST /v1/candidates), or with none to hand them the link yourself"
        )
    planned = []
    for candidate_id in request.candidate_ids:
        invitee = known[candidate_id]
        invitation = Invitation(
            id="inv_" + secrets.token_hex(10),
            job_id=job.id,
            candidate_id=candidate_id,
            interview_id=uuid.uuid4().hex,
            token=secrets.token_urlsafe(24),
            language=job.language,
            mode=request.mode,
            created_at=now,
            expires_at=now + request.expires_in,
        )
        email, mail_id = None, None
        if invitee.email:
            letter = InvitationLetter(
                job_title=job.title,
                language=job.language,
                link=link_for(invitation),
                expires_at=invitation.expires_at,
                sender=sender,
                candidate=Person(invitee.email, invitee.name),
                message_domain=message_domain,
            )
            email, mail_id = invitation_email(letter, now), "ml_" + secrets.token_hex(12)
        planned.append(PlannedInvitation(invitation, email, mail_id))
    return planned


# --- the store it runs on ----------------------------------------------------------------------------------------


class InvitationStore(Protocol):
    """Where invitations, their e-mails and events, and Idempotency-Keys are kept (server/db/invitations.py)."""

    async def claim_key(
        self, key: str, body_fingerprint: str, now: datetime, locked_until: datetime
    ) -> KeyRecord | None:
        """Record `key` as being handled and return None; if a record is there already, return it unchanged."""
        ...

    async def take_over_key(
        self, previous: KeyRecord, body_fingerprint: str, now: datetime, locked_until: datetime
    ) -> bool:
        """Replace a forgotten or abandoned record, unless another request changed it first (then False)."""
        ...

    async def release_key(self, key: str) -> None:
        """Forget a key whose request failed before anything was written, so a retry with it starts afresh."""
        ...

    async def invite_targets(
        self, job_id: str, candidate_ids: Sequence[str]
    ) -> tuple[InviteJob | None, list[Invitee]]: ...

    async def save_invitations(
        self, planned: Sequence[PlannedInvitation], key: str | None, status_code: int, answer: str
    ) -> None:
        """In one transaction: the invitations, their interviews, e-mails and `candidate.invited` events, and the
        key's answer."""
        ...


@dataclass(frozen=True, slots=True)
class InviteAnswer:
    """The HTTP status and JSON body to answer with; `replayed` when it is the stored answer of an earlier request."""

    status_code: int
    body: str
    replayed: bool


class Inviter:
    """Invites candidates to a job once per Idempotency-Key, through `store`, at `clock`'s time."""

    def __init__(
        self,
        store: InvitationStore,
        clock: Clock,
        *,
        link_for: Callable[[Invitation], str],
        sender: Person,
        message_domain: str,
    ) -> None:
        self.store = store
        self.clock = clock
        self.link_for = link_for
        self.sender = sender
        self.message_domain = message_domain

    async def _claim(self, key: str, body_fingerprint: str, now: datetime) -> KeyRecord | None:
        """None once this request holds the key; the stored record when its answer is to be replayed."""
        record = await self.store.claim_key(key, body_fingerprint, now, now + KEY_LEASE)
        if record is None:
            return None
        decision = decide(record, body_fingerprint, now)
        if decision is KeyDecision.REPLAY:
            return record
        if decision is KeyDecision.MISMATCH:
            raise KeyReusedError(
                "this Idempotency-Key was used with another request body; use a new key for a new request"
            )
        if decision is KeyDecision.PROCEED and await self.store.take_over_key(
            record, body_fingerprint, now, now + KEY_LEASE
        ):
            return None
        raise KeyInProgressError(
            "a request with this Idempotency-Key is being handled right now; retry after it has been answered"
        )

    async def invite(
        self,
        request: InviteRequest,
        *,
        key: str | None,
        body_fingerprint: str,
        answer: Callable[[Sequence[PlannedInvitation]], tuple[int, str]],
    ) -> InviteAnswer:
        now = self.clock()
        if key is not None:
            stored = await self._claim(key, body_fingerprint, now)
            if stored is not None:
                assert stored.answer is not None and stored.status_code is not None
                return InviteAnswer(stored.status_code, stored.answer, replayed=True)
        try:
            job, invitees = await self.store.invite_targets(request.job_id, request.candidate_ids)
            planned = plan_invitations(
                request,
                job,
                invitees,
                now=now,
                link_for=self.link_for,
                sender=self.sender,
                message_domain=self.message_domain,
            )
            status_code, body = answer(planned)
            await self.store.save_invitations(planned, key, status_code, body)
        except BaseException:
            if key is not None:
                await self.store.release_key(key)
            raise
        return InviteAnswer(status_code, body, replayed=False)
