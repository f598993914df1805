"""The candidate's recourse over HTTP: `POST|GET /v1/interviews/{id}/recourse?token=` to ask for a human review or
an explanation of their report and to follow it; HR's `GET /v1/recourse` and `POST /v1/recourse/{id}/answer`.

The rules are hr/recourse.py; the rows, server/db/reviews.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_401_UNAUTHORIZED, HTTP_409_CONFLICT
from msgspec import Meta, Struct

from hr.recourse import (
    MAX_ANSWER,
    MAX_MESSAGE,
    AlreadyAnsweredError,
    AlreadyRequestedError,
    RecourseError,
    RecourseRequest,
    RecourseStatus,
    ReportNotReadyError,
)
from server.auth import role_guard
from server.db.reviews import RecourseNotFound, SqlReviews
from server.db.store import Store
from server.db.tables import InterviewRow
from server.errors import ApiError, bad_request, errors, not_found
from server.interview_tokens import candidate_token_opens
from server.people import Principal
from server.route_audit import audited
from server.settings import Settings


class RecourseIn(Struct, forbid_unknown_fields=True):
    """What the candidate wants reviewed or explained, if they say."""

    message: Annotated[str, Meta(max_length=MAX_MESSAGE)] | None = None


class AnswerIn(Struct, forbid_unknown_fields=True):
    answer: Annotated[str, Meta(min_length=1, max_length=MAX_ANSWER)]  # what a person reviewed and concluded


class RecourseOut(Struct):
    id: str
    interview_id: str
    status: str  # pending | answered
    message: str | None
    created_at: datetime
    due_at: datetime  # a person answers by then
    answer: str | None
    answered_at: datetime | None


def recourse_out(r: RecourseRequest) -> RecourseOut:
    return RecourseOut(r.id, r.interview_id, r.status.value, r.message, r.created_at, r.due_at, r.answer, r.answered_at)


async def candidates_interview(store: Store, settings: Settings, interview_id: str, token: str | None) -> InterviewRow:
    row = await store.interview(interview_id)
    # An unknown id, and a token past its days, answer like a wrong token: ids are not to be probed.
    if not candidate_token_opens(store.vault, row, token, settings.candidate_token_days) or row is None:
        raise ApiError(HTTP_401_UNAUTHORIZED, "unauthorized", "send ?token=<candidate_token> of this interview")
    return row


class CandidateRecourseController(Controller):
    path = "/v1/interviews/{interview_id:str}/recourse"
    tags = ["recourse"]  # noqa: RUF012  (Litestar reads tags as a class attribute)

    @post(status_code=HTTP_201_CREATED, responses=errors(400, 401, 409))
    async def request_recourse(
        self,
        interview_id: FromPath[str],
        store: NamedDependency[Store],
        reviews: NamedDependency[SqlReviews],
        settings: NamedDependency[Settings],
        token: FromQuery[str | None] = None,
        data: JSONBody[RecourseIn | None] = None,
    ) -> RecourseOut:
        """The candidate asks a person to review their report or explain it; HR gets a task due within
        SHANMIAN_RECOURSE_DUE_DAYS and a `review.requested` event (`requested_by: candidate`). Once per interview."""
        row = await candidates_interview(store, settings, interview_id, token)
        try:
            made = await reviews.request_recourse(row, data.message if data is not None else None)
        except (ReportNotReadyError, AlreadyRequestedError) as exc:
            raise ApiError(HTTP_409_CONFLICT, exc.code, str(exc)) from exc
        except RecourseError as exc:
            raise bad_request(str(exc)) from exc
        return recourse_out(made)

    @get(responses=errors(401))
    async def get_recourse(
        self,
        interview_id: FromPath[str],
        store: NamedDependency[Store],
        reviews: NamedDependency[SqlReviews],
        settings: NamedDependency[Settings],
        token: FromQuery[str | None] = None,
    ) -> RecourseOut | None:
        """The candidate's request and its status, with the answer once a person has given it; `null` before any
        request (not a 404: the report page asks on every visit, and "not yet" is an answer, not an error)."""
        row = await candidates_interview(store, settings, interview_id, token)
        found = await reviews.recourse_for(row.id)
        return recourse_out(found) if found is not None else None


class RecourseController(Controller):
    path = "/v1/recourse"
    tags = ["recourse"]  # noqa: RUF012
    guards = [role_guard]  # noqa: RUF012

    @get(opt=audited("recourse_listed", "status", "limit"), responses=errors(400, 401))
    async def list_recourse(
        self,
        reviews: NamedDependency[SqlReviews],
        status: Annotated[
            Literal["pending", "answered"] | None, QueryParameter(description="pending or answered; all if left out")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000, description="requests to list, soonest due first")] = 100,
    ) -> list[RecourseOut]:
        """Candidates' requests for a human review, soonest due first."""
        wanted = RecourseStatus(status) if status is not None else None
        return [recourse_out(r) for r in await reviews.recourse_requests(wanted, limit)]

    @post("/{request_id:str}/answer", status_code=HTTP_200_OK, responses=errors(400, 401, 404, 409))
    async def answer_recourse(
        self,
        request_id: FromPath[str],
        data: JSONBody[AnswerIn],
        reviews: NamedDependency[SqlReviews],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> RecourseOut:
        """Answer the candidate (they read it with GET on their recourse address); once."""
        try:
            answered = await reviews.answer_recourse(request_id, data.answer)
        except RecourseNotFound:
            raise not_found("recourse request", request_id) from None
        except AlreadyAnsweredError as exc:
            raise ApiError(HTTP_409_CONFLICT, exc.code, str(exc)) from exc
        except RecourseError as exc:
            raise bad_request(str(exc)) from exc
        await store.audit(principal.actor, "recourse_answered", answered.interview_id, request_id=answered.id)
        return recourse_out(answered)
