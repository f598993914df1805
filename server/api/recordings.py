"""HR's view of a recorded interview: the recording file, its state, and the highlights to jump to; plus consent.

Recording and highlights need the HR key. Consent is the candidate's own (their token): given before joining,
withdrawn at any time until the interview ends. The HR key may record a refusal or a withdrawal on the candidate's
behalf, never a consent.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import File
from litestar.status_codes import HTTP_200_OK, HTTP_401_UNAUTHORIZED, HTTP_403_FORBIDDEN
from msgspec import Struct, to_builtins

from dialogue.highlights import find_highlights
from server.auth import authenticator, role_guard, within_jobs
from server.db.status import ENDED, InterviewStatus, RecordingStatus
from server.db.store import Store, plan_from_json
from server.db.tables import RecordingRow
from server.errors import ApiError, conflict, errors, not_found
from server.interview_tokens import CANDIDATE_REFUSED, candidate_token_opens
from server.people import RECRUITING, REVIEWING, Principal, roles
from server.settings import Settings
from server.stream.recording import Recordings


def _size(path: Path) -> int:
    """0 for a missing file too: either way there is nothing to play."""
    return path.stat().st_size if path.is_file() else 0


class ConsentBody(Struct):
    consent: bool  # to an audio recording; false refuses or withdraws it (stopping a recording in progress)
    video: bool | None = None  # to a video recording as well, in video mode; None keeps what was said before
    ai_notice: bool | None = None  # true: the candidate accepted the notice that an AI conducts and scores it


def recording_json(row: RecordingRow | None) -> dict[str, Any]:
    if row is None:
        return {
            "consent": None,
            "status": RecordingStatus.NONE,
            "media_type": None,
            "duration_s": None,
            "note": None,
            "video_consent": None,
        }
    return {
        "consent": row.consent,
        "status": row.status,
        "media_type": row.media_type,
        "duration_s": row.duration_s,
        "note": row.note,
        "video_consent": row.video_consent,
    }


@post(
    "/v1/interviews/{interview_id:str}/consent",
    status_code=HTTP_200_OK,
    tags=["recordings"],
    responses=errors(400, 401, 404, 409),
)
async def give_consent(
    interview_id: FromPath[str],
    data: JSONBody[ConsentBody],
    store: NamedDependency[Store],
    recordings: NamedDependency[Recordings],
    settings: NamedDependency[Settings],
    request: Request[Any, Any, Any],
    token: FromQuery[str | None] = None,
) -> dict[str, Any]:
    """The candidate's consent to being recorded (`?token=<candidate_token>`): given before joining, withdrawn
    (`"consent": false`) at any time until the interview ends. An admin's or recruiter's key, on their jobs, may only
    refuse or withdraw it (403 otherwise). An unknown id answers like a wrong token (401) unless such a key asks.
    """
    row = await store.interview(interview_id)
    candidate = candidate_token_opens(store.vault, row, token, settings.candidate_token_days)
    principal = None if candidate else await authenticator(request).optional(request)
    hr = principal if principal is not None and principal.role in RECRUITING else None
    if hr is not None and row is not None and not hr.sees(row.job_id):
        raise not_found("interview", interview_id)
    if not candidate and hr is None:
        raise ApiError(HTTP_401_UNAUTHORIZED, "unauthorized", CANDIDATE_REFUSED)
    if row is None:
        raise not_found("interview", interview_id)
    if hr and (data.consent or data.video or data.ai_notice):
        raise ApiError(
            HTTP_403_FORBIDDEN,
            "forbidden",
            "only the candidate can consent to recording or accept the AI notice, with their own token "
            '(?token=<candidate_token>); the HR API key may only record a refusal ("consent": false)',
        )
    if row.status in ENDED:
        raise conflict(f"the interview is {row.status}; consent can no longer change")
    if data.consent and row.status != InterviewStatus.SCHEDULED:
        raise conflict(f"the interview is {row.status}; consent is given before joining (or in the hello message)")
    via = "rest" if candidate else "hr"
    if data.consent:
        await recordings.consent(interview_id, via, True, data.video)
    else:
        await recordings.withdraw(interview_id, via)  # stops a recording in progress on this node at once
    if data.ai_notice:
        await store.accept_ai_notice(interview_id, via)
    actor = hr.actor if hr is not None else "candidate"
    await store.audit(actor, "recording_consent", interview_id, consent=data.consent, video=data.video)
    return recording_json(await store.recording(interview_id))


@get(
    "/v1/interviews/{interview_id:str}/recording",
    guards=[role_guard],
    opt=roles(REVIEWING),
    tags=["recordings"],
    responses=errors(401, 404, 409),
)
async def get_recording(
    interview_id: FromPath[str], store: NamedDependency[Store], principal: NamedDependency[Principal]
) -> File:
    """The recording file: Ogg/Opus (voice) or WebM (video), on the transcript's time line."""
    row = await store.interview(interview_id)
    if row is None:
        raise not_found("interview", interview_id)
    within_jobs(principal, row.job_id, "interview", interview_id)
    rec = await store.recording(interview_id)
    if rec is None or rec.path is None:
        why = rec.note if rec is not None and rec.note else "nothing was recorded for it"
        raise ApiError(404, "not_found", f"the interview has no recording: {why}")
    if rec.status == RecordingStatus.RECORDING:
        raise conflict("the interview is still being recorded; the file is ready once it ends")
    path = Path(rec.path)
    if await asyncio.to_thread(_size, path) == 0:
        raise ApiError(
            404, "not_found", f"the recording file is missing or empty ({rec.note or 'status ' + rec.status})"
        )
    await store.audit(principal.actor, "recording_downloaded", interview_id)
    return File(path=path, media_type=rec.media_type, filename=path.name)


@get(
    "/v1/interviews/{interview_id:str}/highlights",
    guards=[role_guard],
    opt=roles(REVIEWING),
    tags=["recordings"],
    responses=errors(401, 404, 409),
)
async def get_highlights(
    interview_id: FromPath[str], store: NamedDependency[Store], principal: NamedDependency[Principal]
) -> dict[str, Any]:
    """Moments worth jumping to, each with its time (session seconds = recording seconds) and the quote."""
    row = await store.interview(interview_id)
    if row is None:
        raise not_found("interview", interview_id)
    within_jobs(principal, row.job_id, "interview", interview_id)
    job = await store.job(row.job_id)
    if job is None:
        raise conflict(f"the interview's job {row.job_id!r} no longer exists; its requirements are needed")
    plan = await store.interview_plan(row) or plan_from_json(job.plan)
    highlights = find_highlights(plan, await store.turns(interview_id))
    await store.audit(principal.actor, "highlights_viewed", interview_id)
    return {
        "interview_id": interview_id,
        "highlights": [to_builtins(h) for h in highlights],
        "recording": recording_json(await store.recording(interview_id)),
    }
