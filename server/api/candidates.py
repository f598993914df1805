"""`/v1/candidates`: the people being interviewed, with an optional résumé; everything held about one exported, or
erased (server/privacy/)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path

from litestar import Controller, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import File
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from msgspec import Struct

from dialogue.resume_redact import resume_problem
from server.api.schemas import CandidateIn, CandidateOut
from server.auth import role_guard
from server.bus import BusUnavailable
from server.db.store import Store
from server.db.tables import CandidateRow
from server.errors import ApiError, bad_request, conflict, errors, not_found
from server.people import RECRUITING, Principal, roles
from server.privacy.erasure import CandidateLive, CandidateNotFound, Eraser
from server.privacy.export import gather, write_zip


class ErasureOut(Struct):
    """The audit entry the erasure left: no personal data, counts of what went per data class."""

    id: str
    erased_at: datetime
    who: str
    counts: dict[str, int]


def candidate_out(row: CandidateRow) -> CandidateOut:
    return CandidateOut(id=row.id, name=row.name, email=row.email, resume_text=row.resume_text)


async def audit_candidate_access(
    store: Store, actor: str, action: str, candidate_id: str, interview_ids: list[str]
) -> None:
    """One entry per interview of the candidate, linked to it; a candidate without interviews yet gets one entry
    linked to them. An erasure removes both kinds of link."""
    if not interview_ids:
        await store.audit_candidate(actor, action, candidate_id)
    for interview_id in interview_ids:
        await store.audit(actor, action, interview_id)


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


class CandidateController(Controller):
    path = "/v1/candidates"
    guards = [role_guard]  # noqa: RUF012  (Litestar reads guards as a class attribute)
    tags = ["candidates"]  # noqa: RUF012

    # A candidate belongs to no job until invited or interviewed: recruiters create them; export and erase stay
    # with admins (both reach every interview of the candidate, whatever its job).
    @post(opt=roles(RECRUITING), responses=errors(400, 401))
    async def create_candidate(
        self, data: JSONBody[CandidateIn], store: NamedDependency[Store], principal: NamedDependency[Principal]
    ) -> CandidateOut:
        problem = None if data.resume_text is None else resume_problem(data.resume_text)
        if problem is not None:
            raise bad_request(problem)
        row = CandidateRow(id=uuid.uuid4().hex, name=data.name.strip(), email=data.email, resume_text=data.resume_text)
        await store.add_candidate(row)
        await store.audit_candidate(principal.actor, "candidate_created", row.id)
        return candidate_out(row)

    @get("/{candidate_id:str}", opt=roles(RECRUITING), responses=errors(401, 404))
    async def get_candidate(
        self, candidate_id: FromPath[str], store: NamedDependency[Store], principal: NamedDependency[Principal]
    ) -> CandidateOut:
        """A recruiter limited to jobs sees the candidates interviewed or invited for one of them."""
        row = await store.candidate(candidate_id)
        visible = principal.jobs is None or bool(principal.jobs & await store.candidate_jobs(candidate_id))
        if row is None or not visible:
            raise not_found("candidate", candidate_id)
        interviews = await store.candidate_interviews(candidate_id)
        await audit_candidate_access(store, principal.actor, "candidate_viewed", candidate_id, interviews)
        return candidate_out(row)

    @get("/{candidate_id:str}/export", responses=errors(401, 404), media_type="application/zip")
    async def export_candidate(
        self, candidate_id: FromPath[str], store: NamedDependency[Store], principal: NamedDependency[Principal]
    ) -> File:
        """Everything held about the candidate, as a zip: `data.json` (the candidate, and each interview with its
        turns, report versions, comments, recording state and audit entries) and the recording files under
        `recordings/`."""
        gathered = await gather(store, candidate_id)
        if gathered is None:
            raise not_found("candidate", candidate_id)
        path, _ = await asyncio.to_thread(write_zip, *gathered)
        interviews = [i.id for i in gathered[0].interviews]
        await audit_candidate_access(store, principal.actor, "candidate_exported", candidate_id, interviews)
        return File(
            path=path,
            filename=f"candidate-{candidate_id}.zip",
            media_type="application/zip",
            background=BackgroundTask(asyncio.to_thread, _unlink, path),  # the zip holds personal data: not kept
        )

    @post("/{candidate_id:str}/erase", status_code=HTTP_200_OK, responses=errors(401, 404, 409, 503))
    async def erase_candidate(
        self, candidate_id: FromPath[str], eraser: NamedDependency[Eraser], principal: NamedDependency[Principal]
    ) -> ErasureOut:
        """Erase the candidate and everything held about them: their interviews, turns, report versions, comments,
        recordings (rows and files), résumé and résumé probes, webhook events about them, their interviews' event
        history. Refused (409) while one of their interviews is live. What is left is the audit entry answered
        here, without personal data; erasing again answers 404."""
        try:
            erasure = await eraser.erase(candidate_id, principal.actor)
        except CandidateNotFound:
            raise not_found("candidate", candidate_id) from None
        except CandidateLive as exc:
            raise conflict(
                f"interview {', '.join(exc.interview_ids)} of this candidate is live; erase once it has ended "
                "(the candidate finishes, leaves, or the reconnect grace runs out)"
            ) from None
        except BusUnavailable as exc:
            raise ApiError(
                HTTP_503_SERVICE_UNAVAILABLE, "unavailable", f"nothing was erased: {exc}; retry shortly"
            ) from None
        return ErasureOut(erasure.id, erasure.erased_at, erasure.who, erasure.counts)
