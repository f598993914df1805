"""Invitations in the database: hr.invitations' store (Idempotency-Keys, and each invite written in one transaction
with its interviews, e-mails and `candidate.invited` events), HR's reads, the link's lookup, and revocation.

Revoking closes the interview the link opened, if it has not begun, in the same transaction (it is abandoned with
end reason `invitation_revoked`): the candidate's stream then answers `session_closed`. A link that expires unused
closes its interview the same way (end reason `invitation_expired`) when the node's expiry round finds it, unless the
candidate booked a time: the booking, made while the link was open, is the appointment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from hr.invitations import KEY_TTL, Invitation, Invitee, InviteJob, KeyRecord, Language, PlannedInvitation
from hr.scheduling import BookingStatus
from server.auth import token_matches
from server.db.status import InterviewStatus, JobStatus
from server.db.store import Store
from server.db.tables import BookingRow, CandidateRow, IdempotencyKeyRow, InterviewRow, InvitationRow, JobRow
from server.interview_tokens import seal_new_tokens
from server.mail.outbox import MailOutbox
from server.token_vault import INVITATION, STORED_ANSWER, TokenVault, new_token
from server.webhooks.outbox import WebhookOutbox

SCOPE = "POST /v1/invitations"
# Compared against when the id is unknown: as long as a real token, matching nothing anyone was given.
_NO_INVITATION = new_token()
REVOKED_REASON = "invitation_revoked"
EXPIRED_REASON = "invitation_expired"


class InvitationNotFound(LookupError):
    pass


class InterviewUnderway(RuntimeError):
    """The invitation's interview is live or over: revoking the link can no longer stop it."""


def _language(code: str) -> Language:
    return "zh" if code == "zh" else "en"


def invitation_of(row: InvitationRow, vault: TokenVault) -> Invitation:
    return Invitation(
        id=row.id,
        job_id=row.job_id,
        candidate_id=row.candidate_id,
        interview_id=row.interview_id,
        token=vault.must_open(INVITATION, row.id, row.token),
        language=_language(row.language),
        mode=row.mode,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def _key_record(row: IdempotencyKeyRow, vault: TokenVault) -> KeyRecord:
    answer = vault.must_open(STORED_ANSWER, f"{row.scope}:{row.key}", row.answer) if row.answer is not None else None
    return KeyRecord(row.key, row.fingerprint, row.created_at, row.locked_until, answer, row.status_code)


def _interview_row(planned: PlannedInvitation, plan_version: int, vault: TokenVault) -> InterviewRow:
    inv = planned.invitation
    row = InterviewRow(
        id=inv.interview_id,
        job_id=inv.job_id,
        candidate_id=inv.candidate_id,
        mode=inv.mode,
        status=InterviewStatus.SCHEDULED,
        plan_version=plan_version,  # pinned, as for an interview scheduled over POST /v1/interviews
    )
    seal_new_tokens(vault, row)  # the candidate's reaches them through the link's redirect; the observer's HR's
    return row


def _invitation_row(planned: PlannedInvitation, vault: TokenVault) -> InvitationRow:
    inv = planned.invitation
    return InvitationRow(
        id=inv.id,
        job_id=inv.job_id,
        candidate_id=inv.candidate_id,
        interview_id=inv.interview_id,
        token=vault.seal(INVITATION, inv.id, inv.token),
        language=inv.language,
        mode=inv.mode,
        created_at=inv.created_at,
        expires_at=inv.expires_at,
        mail_id=planned.mail_id,
    )


class SqlInvitations:
    """hr.invitations.InvitationStore on the server's database, plus what the REST API reads and changes."""

    def __init__(self, store: Store, webhooks: WebhookOutbox, mail: MailOutbox) -> None:
        self.store = store
        self.webhooks = webhooks
        self.mail = mail
        self._session = async_sessionmaker(store.engine, expire_on_commit=False)

    # --- Idempotency-Keys ---------------------------------------------------------------------------------------

    async def claim_key(
        self, key: str, body_fingerprint: str, now: datetime, locked_until: datetime
    ) -> KeyRecord | None:
        row = IdempotencyKeyRow(
            scope=SCOPE, key=key, fingerprint=body_fingerprint, created_at=now, locked_until=locked_until
        )
        try:
            async with self._session() as s, s.begin():
                # Forgotten keys go as new ones come: their stored answers hold candidates' links.
                await s.execute(delete(IdempotencyKeyRow).where(IdempotencyKeyRow.created_at <= now - KEY_TTL))
                s.add(row)
            return None
        except IntegrityError:
            pass
        async with self._session() as s:
            found = await s.get(IdempotencyKeyRow, (SCOPE, key))
        if found is None:  # released between our insert and this read: the client may simply retry
            return KeyRecord(key, body_fingerprint, now, locked_until)
        return _key_record(found, self.store.vault)

    async def take_over_key(
        self, previous: KeyRecord, body_fingerprint: str, now: datetime, locked_until: datetime
    ) -> bool:
        query = (
            update(IdempotencyKeyRow)
            .where(
                IdempotencyKeyRow.scope == SCOPE,
                IdempotencyKeyRow.key == previous.key,
                IdempotencyKeyRow.created_at == previous.created_at,
                IdempotencyKeyRow.locked_until == previous.locked_until,
            )
            .values(
                fingerprint=body_fingerprint, created_at=now, locked_until=locked_until, answer=None, status_code=None
            )
        )
        async with self._session() as s, s.begin():
            result: CursorResult[Any] = await s.execute(query)  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
        return result.rowcount == 1

    async def release_key(self, key: str) -> None:
        async with self._session() as s, s.begin():
            await s.execute(
                delete(IdempotencyKeyRow).where(
                    IdempotencyKeyRow.scope == SCOPE, IdempotencyKeyRow.key == key, IdempotencyKeyRow.answer.is_(None)
                )
            )

    # --- the invite ---------------------------------------------------------------------------------------------

    async def invite_targets(self, job_id: str, candidate_ids: Sequence[str]) -> tuple[InviteJob | None, list[Invitee]]:
        async with self._session() as s:
            job = await s.get(JobRow, job_id)
            rows = (await s.scalars(select(CandidateRow).where(CandidateRow.id.in_(list(candidate_ids))))).all()
        invitees = [Invitee(c.id, c.name, c.email) for c in rows]
        if job is None:
            return None, invitees
        return InviteJob(job.id, job.title, _language(job.language), job.status != JobStatus.DRAFTING), invitees

    async def save_invitations(
        self, planned: Sequence[PlannedInvitation], key: str | None, status_code: int, answer: str
    ) -> None:
        async with self._session() as s, s.begin():
            job = await s.get(JobRow, planned[0].invitation.job_id) if planned else None
            plan_version = job.plan_version if job is not None else 1
            # Reads and e-mails are done; the writes come last, so the database is locked for as short a time as can be.
            s.add_all(_interview_row(p, plan_version, self.store.vault) for p in planned)
            await s.flush()  # the interviews before the invitations that point at them
            for p in planned:
                if p.email is not None and p.mail_id is not None:
                    await self.mail.add(
                        s,
                        p.mail_id,
                        f"invitation:{p.invitation.id}",
                        "invitation",
                        p.email,
                        candidate_id=p.invitation.candidate_id,
                    )
            s.add_all(_invitation_row(p, self.store.vault) for p in planned)
            await s.flush()
            for p in planned:
                await self.webhooks.candidate_invited(s, p.invitation)
            if key is not None:
                await s.execute(
                    update(IdempotencyKeyRow)
                    .where(IdempotencyKeyRow.scope == SCOPE, IdempotencyKeyRow.key == key)
                    # The answer holds the candidates' links: sealed like the tokens themselves.
                    .values(
                        status_code=status_code, answer=self.store.vault.seal(STORED_ANSWER, f"{SCOPE}:{key}", answer)
                    )
                )

    # --- HR's reads, the link, revocation ----------------------------------------------------------------------

    async def invitations(
        self, job_id: str | None = None, limit: int = 100, job_ids: frozenset[str] | None = None
    ) -> Sequence[InvitationRow]:
        """The newest first; of one job, and of the jobs `job_ids` only unless None."""
        query = select(InvitationRow).order_by(InvitationRow.created_at.desc(), InvitationRow.id).limit(limit)
        if job_id is not None:
            query = query.where(InvitationRow.job_id == job_id)
        if job_ids is not None:
            query = query.where(InvitationRow.job_id.in_(job_ids))
        async with self._session() as s:
            return (await s.scalars(query)).all()

    async def invited_interviews(self) -> set[str]:
        """The interviews opened by an invitation that was not revoked (the dashboard's `invited`)."""
        query = select(InvitationRow.interview_id).where(InvitationRow.revoked_at.is_(None))
        async with self._session() as s:
            return set((await s.scalars(query)).all())

    async def invitation(self, invitation_id: str) -> InvitationRow:
        async with self._session() as s:
            row = await s.get(InvitationRow, invitation_id)
        if row is None:
            raise InvitationNotFound(invitation_id)
        return row

    async def for_link(self, invitation_id: str, token: str | None) -> tuple[InvitationRow, InterviewRow] | None:
        """The invitation and its interview if `token` is its link's; None otherwise, after the same work either
        way (a lookup, then a constant-time comparison), so neither answer nor timing tells which ids exist."""
        async with self._session() as s:
            found = (
                await s.execute(
                    select(InvitationRow, InterviewRow)
                    .join(InterviewRow, InterviewRow.id == InvitationRow.interview_id)
                    .where(InvitationRow.id == invitation_id)
                )
            ).first()
        stored = self.store.vault.open(INVITATION, found[0].id, found[0].token) if found is not None else None
        matches = token_matches(stored or _NO_INVITATION, token)
        return (found[0], found[1]) if matches and found is not None else None

    async def revoke(self, invitation_id: str, now: datetime) -> InvitationRow:
        """Close the link (again: revoking twice changes nothing) and the interview it opens, unless that began."""
        async with self._session() as s, s.begin():
            row = await s.get(InvitationRow, invitation_id, with_for_update=True)
            if row is None:
                raise InvitationNotFound(invitation_id)
            if row.revoked_at is not None:
                return row
            result: CursorResult[Any] = await s.execute(  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
                update(InterviewRow)
                .where(InterviewRow.id == row.interview_id, InterviewRow.status == InterviewStatus.SCHEDULED)
                .values(status=InterviewStatus.ABANDONED, ended_at=now, end_reason=REVOKED_REASON)
            )
            if result.rowcount != 1:
                status = await s.scalar(select(InterviewRow.status).where(InterviewRow.id == row.interview_id))
                raise InterviewUnderway(f"its interview is {status}")
            row.revoked_at = now
            for listener in self.store.listeners:
                await listener.interview_status_changed(s, row.interview_id, InterviewStatus.ABANDONED)
        return row

    async def close_expired(self, now: datetime, limit: int = 50) -> list[str]:
        """Abandon the interviews whose links expired unused (not begun, not booked); returns their ids. Each is a
        compare-and-set from `scheduled`: a candidate starting at that moment, or another node's round, wins."""
        booked = select(BookingRow.id).where(
            BookingRow.interview_id == InvitationRow.interview_id, BookingRow.status == BookingStatus.CONFIRMED
        )
        due = (
            select(InvitationRow.interview_id)
            .join(InterviewRow, InterviewRow.id == InvitationRow.interview_id)
            .where(
                InvitationRow.expires_at <= now,
                InvitationRow.revoked_at.is_(None),
                InterviewRow.status == InterviewStatus.SCHEDULED,
                ~booked.exists(),
            )
            .order_by(InvitationRow.expires_at)
            .limit(limit)
        )
        async with self._session() as s:
            interview_ids = (await s.scalars(due)).all()
        closed = []
        for interview_id in interview_ids:
            async with self._session() as s, s.begin():
                result: CursorResult[Any] = await s.execute(  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
                    update(InterviewRow)
                    .where(InterviewRow.id == interview_id, InterviewRow.status == InterviewStatus.SCHEDULED)
                    .values(status=InterviewStatus.ABANDONED, ended_at=now, end_reason=EXPIRED_REASON)
                )
                if result.rowcount == 1:
                    for listener in self.store.listeners:
                        await listener.interview_status_changed(s, interview_id, InterviewStatus.ABANDONED)
                    closed.append(interview_id)
        return closed
