"""HR's view of a recorded interview: the recording file, its state, and the highlights to jump to; plus consent.

Recording and highlights need the HR key; consent may be given by the candidate (their token) before joining.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import File
from litestar.status_codes import HTTP_200_OK, HTTP_401_UNAUTHORIZED
from msgspec import Struct, to_builtins

from dialogue.highlights import find_highlights
from server.auth import bearer_key, hr_guard, is_hr_key, token_matches
from server.db.status import InterviewStatus, RecordingStatus
from server.db.store import Store, plan_from_json
from server.db.tables import RecordingRow
from server.errors import ApiError, conflict, errors, not_found
from server.settings import Settings


def _size(path: Path) -> int:
    """0 for a missing file too: either way there is nothing to play."""
    return path.stat().st_size if path.is_file() else 0


class ConsentBody(Struct):
    consent: bool


def recording_json(row: RecordingRow | None) -> dict[str, Any]:
    if row is None:
        return {"consent": None, "status": RecordingStatus.NONE, "media_type": None, "duration_s": None, "note": None}
    return {
        "consent": row.consent,
        "status": row.status,
        "media_type": row.media_type,
        "duration_s": row.duration_s,
        "note": row.note,
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
    settings: NamedDependency[Settings],
    request: Request[Any, Any, Any],
    token: FromQuery[str | None] = None,
) -> dict[str, Any]:
    """The candidate's consent to being recorded, before joining: `?token=<candidate_token>` or the HR key."""
    row = await store.interview(interview_id)
    if row is None:
        raise not_found("interview", interview_id)
    if not token_matches(row.candidate_token, token) and not is_hr_key(settings, bearer_key(request)):
        raise ApiError(HTTP_401_UNAUTHORIZED, "unauthorized", "send the candidate token as ?token= or the HR API key")
    if row.status != InterviewStatus.SCHEDULED:
        raise conflict(f"the interview is {row.status}; consent is given before joining (or in the hello message)")
    rec = await store.update_recording(interview_id, consent=data.consent, consent_source="rest")
    await store.audit("candidate" if token else "hr", "recording_consent", interview_id, consent=data.consent)
    return recording_json(rec)


@get(
    "/v1/interviews/{interview_id:str}/recording",
    guards=[hr_guard],
    tags=["recordings"],
    responses=errors(401, 404, 409),
)
async def get_recording(interview_id: FromPath[str], store: NamedDependency[Store]) -> File:
    """The recording file: Ogg/Opus (voice) or WebM (video), on the transcript's time line."""
    row = await store.interview(interview_id)
    if row is None:
        raise not_found("interview", interview_id)
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
    return File(path=path, media_type=rec.media_type, filename=path.name)


@get(
    "/v1/interviews/{interview_id:str}/highlights",
    guards=[hr_guard],
    tags=["recordings"],
    responses=errors(401, 404, 409),
)
async def get_highlights(interview_id: FromPath[str], store: NamedDependency[Store]) -> dict[str, Any]:
    """Moments worth jumping to, each with its time (session seconds = recording seconds) and the quote."""
    row = await store.interview(interview_id)
    if row is None:
        raise not_found("interview", interview_id)
    job = await store.job(row.job_id)
    if job is None:
        raise conflict(f"the interview's job {row.job_id!r} no longer exists; its requirements are needed")
    plan = await store.interview_plan(row) or plan_from_json(job.plan)
    highlights = find_highlights(plan, await store.turns(interview_id))
    return {
        "interview_id": interview_id,
        "highlights": [to_builtins(h) for h in highlights],
        "recording": recording_json(await store.recording(interview_id)),
    }
