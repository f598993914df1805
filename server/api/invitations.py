"""`/v1/invitations`: invite one or many candidates to a job (with an `Idempotency-Key`), list and read invitations,
revoke one; and `GET /invite/{token}`, the candidate's link, which opens their interview until it expires or is
revoked.

The rules are hr/invitations.py; the rows, server/db/invitations.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from litestar.response import Redirect
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_303_SEE_OTHER,
    HTTP_401_UNAUTHORIZED,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
)
from msgspec import Meta, Struct

from hr.invitations import (
    MAX_BATCH,
    InvitationError,
    Inviter,
    InviteRequest,
    JobNotReadyError,
    KeyInProgressError,
    KeyReusedError,
    LinkClosedError,
    PlannedInvitation,
    check_link,
    fingerprint,
)
from server.auth import role_guard, within_jobs
from server.db.invitations import InterviewUnderway, InvitationNotFound, SqlInvitations, invitation_of
from server.db.store import Store
from server.db.tables import InvitationRow
from server.errors import ApiError, ErrorBody, bad_request, conflict, errors, not_found
from server.interview_tokens import candidate_token, candidate_token_lapsed
from server.mail import Mail
from server.people import RECRUITING, Principal, roles
from server.route_audit import audited
from server.settings import Settings
from server.token_vault import TokenVault

Id = Annotated[str, Meta(min_length=1, max_length=64)]
Mode = Literal["voice", "video", "text"]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Any unique string (a UUID): the same key with the same body answers the same, sends nothing "
        "again; with another body it is refused (422); while the first is handled, 409. Remembered 24 hours.",
    ),
]


class InvitationsIn(Struct, forbid_unknown_fields=True):
    """One candidate (`candidate_id`) or many (`candidate_ids`), never both."""

    job_id: Id
    candidate_id: Id | None = None
    candidate_ids: Annotated[list[Id], Meta(min_length=1, max_length=MAX_BATCH)] | None = None
    mode: Mode = "voice"
    expires_in_days: Annotated[int, Meta(ge=1, le=365)] | None = None  # default: SHANMIAN_INVITATION_EXPIRY_DAYS


class InvitationOut(Struct):
    id: str
    job_id: str
    candidate_id: str
    interview_id: str  # the interview the link opens
    link: str  # the candidate's personal link: GET /invite/{id}?token=…
    language: str
    mode: str
    state: str  # open | expired | revoked
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    mail_id: str | None  # its e-mail (GET /v1/mail/{id}); None when the candidate has no address


class InvitationsCreated(Struct):
    invitations: list[InvitationOut]


def link_for(settings: Settings, invitation_id: str, token: str) -> str:
    # The secret goes in the query, as in join_url: the logs redact `token=` values, never a path.
    return f"{settings.base_url}/invite/{invitation_id}?token={token}"


def invitation_out(row: InvitationRow, settings: Settings, now: datetime, vault: TokenVault) -> InvitationOut:
    invitation = invitation_of(row, vault)
    return InvitationOut(
        id=row.id,
        job_id=row.job_id,
        candidate_id=row.candidate_id,
        interview_id=row.interview_id,
        link=link_for(settings, row.id, invitation.token),
        language=row.language,
        mode=row.mode,
        state=invitation.state(now).value,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        mail_id=row.mail_id,
    )


def _created(planned: Sequence[PlannedInvitation], settings: Settings) -> InvitationsCreated:
    return InvitationsCreated(
        [
            InvitationOut(
                id=p.invitation.id,
                job_id=p.invitation.job_id,
                candidate_id=p.invitation.candidate_id,
                interview_id=p.invitation.interview_id,
                link=link_for(settings, p.invitation.id, p.invitation.token),
                language=p.invitation.language,
                mode=p.invitation.mode,
                state="open",
                created_at=p.invitation.created_at,
                expires_at=p.invitation.expires_at,
                revoked_at=None,
                mail_id=p.mail_id,
            )
            for p in planned
        ]
    )


_INVITE_ERRORS = {
    HTTP_409_CONFLICT: ResponseSpec(
        data_container=ErrorBody,
        description="`idempotency_key_in_use`: a request with this Idempotency-Key is being handled right now; "
        "`job_not_ready`: the job's plan is still being drafted.",
        generate_examples=False,
    ),
    HTTP_422_UNPROCESSABLE_ENTITY: ResponseSpec(
        data_container=ErrorBody,
        description="`idempotency_key_reused`: this Idempotency-Key came with another body.",
        generate_examples=False,
    ),
}


def utc_now() -> datetime:
    return datetime.now(UTC)


async def _invitation(invitations: SqlInvitations, invitation_id: str, principal: Principal) -> InvitationRow:
    try:
        row = await invitations.invitation(invitation_id)
    except InvitationNotFound:
        raise not_found("invitation", invitation_id) from None
    within_jobs(principal, row.job_id, "invitation", invitation_id)
    return row


class InvitationController(Controller):
    path = "/v1/invitations"
    tags = ["invitations"]  # noqa: RUF012  (Litestar reads tags as a class attribute)
    guards = [role_guard]  # noqa: RUF012
    opt = roles(RECRUITING)

    @post(status_code=HTTP_201_CREATED, responses={**errors(400, 401), **_INVITE_ERRORS})
    async def invite(
        self,
        data: JSONBody[InvitationsIn],
        invitations: NamedDependency[SqlInvitations],
        mail: NamedDependency[Mail],
        settings: NamedDependency[Settings],
        principal: NamedDependency[Principal],
        store: NamedDependency[Store],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[InvitationsCreated]:
        """Invite candidates to a job: each gets an interview, a personal link that expires, and an e-mail with it
        in the job's language (sent over SMTP, or kept in `GET /v1/mail` when none is configured), and a
        `candidate.invited` webhook event. All or nothing."""
        if (data.candidate_id is None) == (data.candidate_ids is None):
            raise bad_request("give either candidate_id (one candidate) or candidate_ids (a list): exactly one of them")
        if not principal.sees(data.job_id):  # as for a job that does not exist
            raise bad_request(f"job_id {data.job_id!r} does not exist")
        candidate_ids = (data.candidate_id,) if data.candidate_id is not None else tuple(data.candidate_ids or ())
        days = data.expires_in_days or settings.invitation_expiry_days
        request = InviteRequest(data.job_id, candidate_ids, data.mode, timedelta(days=days))
        # The request as understood, defaults filled in: a body that says the same differently is the same body.
        canonical = msgspec.json.encode(
            {"job_id": request.job_id, "candidate_ids": request.candidate_ids, "mode": request.mode, "days": days},
            order="sorted",
        )
        inviter = Inviter(
            invitations,
            utc_now,
            link_for=lambda invitation: link_for(settings, invitation.id, invitation.token),
            sender=mail.sender,
            message_domain=mail.domain,
        )

        def answer(planned: Sequence[PlannedInvitation]) -> tuple[int, str]:
            return HTTP_201_CREATED, msgspec.json.encode(_created(planned, settings)).decode()

        try:
            result = await inviter.invite(
                request, key=idempotency_key, body_fingerprint=fingerprint(canonical), answer=answer
            )
        except KeyReusedError as exc:
            raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, exc.code, str(exc)) from exc
        except (KeyInProgressError, JobNotReadyError) as exc:
            raise ApiError(HTTP_409_CONFLICT, exc.code, str(exc)) from exc
        except InvitationError as exc:
            raise bad_request(str(exc)) from exc
        body = msgspec.json.decode(result.body, type=InvitationsCreated)
        # How many, not whom: one entry per request, whatever the batch (a replay is a request too).
        await store.audit(
            principal.actor,
            "invitations_created",
            None,
            job_id=data.job_id,
            invitations=len(body.invitations),
            mode=data.mode,
            expires_in_days=days,
            replayed=result.replayed,
        )
        headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
        return Response(body, status_code=result.status_code, headers=headers)

    @get(opt=audited("invitations_listed", "job_id", "limit"), responses=errors(400, 401))
    async def list_invitations(
        self,
        invitations: NamedDependency[SqlInvitations],
        settings: NamedDependency[Settings],
        principal: NamedDependency[Principal],
        job_id: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000, description="invitations to list, newest first")] = 100,
    ) -> list[InvitationOut]:
        """Invitations, newest first (one job's with `?job_id=`), each with its link's state now."""
        now = utc_now()
        return [
            invitation_out(r, settings, now, invitations.store.vault)
            for r in await invitations.invitations(job_id, limit, principal.jobs)
        ]

    @get("/{invitation_id:str}", opt=audited("invitation_viewed"), responses=errors(401, 404))
    async def get_invitation(
        self,
        invitation_id: FromPath[str],
        invitations: NamedDependency[SqlInvitations],
        settings: NamedDependency[Settings],
        principal: NamedDependency[Principal],
    ) -> InvitationOut:
        return invitation_out(
            await _invitation(invitations, invitation_id, principal), settings, utc_now(), invitations.store.vault
        )

    @post(
        "/{invitation_id:str}/revoke",
        opt=audited("invitation_revoked"),
        status_code=HTTP_200_OK,
        responses=errors(401, 404, 409),
    )
    async def revoke_invitation(
        self,
        invitation_id: FromPath[str],
        invitations: NamedDependency[SqlInvitations],
        settings: NamedDependency[Settings],
        principal: NamedDependency[Principal],
    ) -> InvitationOut:
        """Close the link at once, and the interview it opens (which has not begun): the link answers 401
        `invitation_revoked`, the candidate's stream `session_closed`. Revoking again changes nothing."""
        await _invitation(invitations, invitation_id, principal)
        now = utc_now()
        try:
            row = await invitations.revoke(invitation_id, now)
        except InvitationNotFound:
            raise not_found("invitation", invitation_id) from None
        except InterviewUnderway as exc:
            raise conflict(f"invitation {invitation_id} cannot be revoked: {exc}") from exc
        return invitation_out(row, settings, now, invitations.store.vault)


@get("/invite/{invitation_id:str}", include_in_schema=False)
async def invitation_link(
    invitation_id: FromPath[str],
    invitations: NamedDependency[SqlInvitations],
    settings: NamedDependency[Settings],
    token: FromQuery[str | None] = None,
) -> Redirect:
    """The candidate's link: while open, on to their interview's page; expired or revoked, 401 saying so."""
    found = await invitations.for_link(invitation_id, token)
    now = utc_now()
    # The link hands out the candidate token: once that no longer opens the interview, the link is as good as wrong.
    if found is None or candidate_token_lapsed(found[1], settings.candidate_token_days, now):
        raise ApiError(
            HTTP_401_UNAUTHORIZED, "unauthorized", "this invitation link is not valid; open the link from your e-mail"
        )
    row, interview = found
    vault = invitations.store.vault
    try:
        check_link(invitation_of(row, vault), now)
    except LinkClosedError as exc:
        raise ApiError(HTTP_401_UNAUTHORIZED, exc.code, str(exc)) from exc
    return Redirect(f"/join/{interview.id}?token={candidate_token(vault, interview)}", status_code=HTTP_303_SEE_OTHER)
