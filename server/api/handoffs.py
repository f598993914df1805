"""Hand-offs over HTTP: offer suggestions (`/v1/offers`, approved or rejected by name; only an approval sends
`offer.suggested`), the course catalogue (`PUT|GET /v1/courses`, CSV or JSON), a job's competency map
(`/v1/jobs/{id}/competencies`) and a hire's courses (`/v1/interviews/{id}/training`, `GET /v1/training/{id}`).

The rules are hr/offers.py and hr/courses.py; the rows, server/db/handoffs.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_409_CONFLICT
from msgspec import Meta, Struct

from hr.courses import CSV_COLUMNS, CatalogueError, Course, catalogue_from_csv, catalogue_from_json
from hr.offers import MAX_NAME, MAX_NOTE, AlreadyDecidedError, OfferError, Verdict
from server.auth import role_guard
from server.db.handoffs import (
    InterviewNotFound,
    JobNotFound,
    NotHired,
    OfferNotFound,
    SqlHandoffs,
    StoredOffer,
    TrainingNotFound,
)
from server.db.store import Store
from server.db.tables import TrainingRecommendationRow
from server.errors import ApiError, bad_request, conflict, errors, not_found
from server.people import Principal
from server.route_audit import audited


class DecisionIn(Struct, forbid_unknown_fields=True):
    """Who decides (their name is kept with the decision), and why if they say."""

    decided_by: Annotated[str, Meta(max_length=MAX_NAME)]
    note: Annotated[str, Meta(max_length=MAX_NOTE)] | None = None


class OfferOut(Struct):
    id: str
    interview_id: str
    job_id: str
    candidate_id: str
    role: str
    level: str  # junior | mid | senior: a hint from the report's overall score and bands
    level_reason: str
    start_earliest: date
    start_latest: date
    scorecard_ids: list[str]  # the scorecards that made the review positive
    status: str  # pending | approved | rejected
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    created_at: datetime


class CourseOut(Struct):
    course_id: str
    title: str
    competencies: list[str]
    url: str
    language: str


class CatalogueOut(Struct):
    courses: list[CourseOut]


class CompetencyMapIn(Struct, forbid_unknown_fields=True):
    """Each of the job's dimensions that has courses, mapped to the competency ids that train it; a hire's dimension
    scored under `weak_below` (out of 10) is weak."""

    dimensions: dict[str, Annotated[list[str], Meta(max_length=50)]]
    weak_below: float = 5.0


class CompetencyMapOut(Struct):
    job_id: str
    dimensions: dict[str, list[str]]
    weak_below: float


class CourseReasonOut(Struct):
    course_id: str
    title: str
    url: str
    language: str
    competencies: list[str]  # which of the dimension's competencies it trains
    reason: str  # "sql 3.8/10: '<evidence quote>'"


class WeakDimensionOut(Struct):
    dimension: str
    score: float
    evidence: str | None  # the report's first evidence quote for it
    competencies: list[str]  # empty: the job's map does not name this dimension
    courses: list[CourseReasonOut]


class TrainingOut(Struct):
    id: str
    interview_id: str
    job_id: str
    candidate_id: str
    weak_below: float
    dimensions: list[WeakDimensionOut]  # weakest first
    created_at: datetime


def offer_out(o: StoredOffer) -> OfferOut:
    s = o.suggestion
    return OfferOut(
        s.id,
        s.interview_id,
        s.job_id,
        s.candidate_id,
        s.role,
        s.level.level,
        s.level.reason,
        s.start_earliest,
        s.start_latest,
        list(o.scorecard_ids),
        s.status,
        s.decided_by,
        s.decided_at,
        s.note,
        s.created_at,
    )


def course_out(c: Course) -> CourseOut:
    return CourseOut(c.id, c.title, list(c.competencies), c.url, c.language)


def training_out(row: TrainingRecommendationRow) -> TrainingOut:
    return TrainingOut(
        row.id,
        row.interview_id,
        row.job_id,
        row.candidate_id,
        row.weak_below,
        msgspec.convert(row.dimensions, list[WeakDimensionOut]),
        row.created_at,
    )


class OfferController(Controller):
    path = "/v1/offers"
    tags = ["hand-offs"]  # noqa: RUF012  (Litestar reads tags as a class attribute)
    guards = [role_guard]  # noqa: RUF012

    @get(opt=audited("offers_listed", "status", "job_id", "limit"), responses=errors(400, 401))
    async def list_offers(
        self,
        handoffs: NamedDependency[SqlHandoffs],
        status: Annotated[
            Literal["pending", "approved", "rejected"] | None, QueryParameter(description="all when left out")
        ] = None,
        job_id: Annotated[str | None, QueryParameter(max_length=32)] = None,
        interview_id: Annotated[str | None, QueryParameter(max_length=32)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> list[OfferOut]:
        """Offer suggestions, newest first: one per interview whose human reviews are positive (a yes or strong yes,
        no no). Nothing is sent until a named person approves one."""
        return [offer_out(o) for o in await handoffs.offers(status, job_id, interview_id, limit)]

    @get("/{offer_id:str}", opt=audited("offer_viewed"), responses=errors(401, 404))
    async def get_offer(self, offer_id: FromPath[str], handoffs: NamedDependency[SqlHandoffs]) -> OfferOut:
        try:
            return offer_out(await handoffs.offer(offer_id))
        except OfferNotFound:
            raise not_found("offer suggestion", offer_id) from None

    async def _decide(
        self,
        handoffs: SqlHandoffs,
        store: Store,
        principal: Principal,
        offer_id: str,
        verdict: Verdict,
        data: DecisionIn,
    ) -> OfferOut:
        try:
            decided = await handoffs.decide(offer_id, verdict, data.decided_by, data.note)
        except OfferNotFound:
            raise not_found("offer suggestion", offer_id) from None
        except AlreadyDecidedError as exc:
            raise ApiError(HTTP_409_CONFLICT, exc.code, str(exc)) from exc
        except OfferError as exc:
            raise bad_request(str(exc)) from exc
        # The key's holder, whoever `decided_by` names: the chain holds ids, the name stays with the offer.
        action = "offer_approved" if verdict == "approve" else "offer_rejected"
        await store.audit(principal.actor, action, decided.suggestion.interview_id, offer_id=offer_id)
        return offer_out(decided)

    @post("/{offer_id:str}/approve", status_code=HTTP_200_OK, responses=errors(400, 401, 404, 409))
    async def approve_offer(
        self,
        offer_id: FromPath[str],
        data: JSONBody[DecisionIn],
        handoffs: NamedDependency[SqlHandoffs],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> OfferOut:
        """Approve under a person's name: the suggestion leaves as an `offer.suggested` webhook event. Once decided,
        a suggestion is not decided again (409 `offer_decided`)."""
        return await self._decide(handoffs, store, principal, offer_id, "approve", data)

    @post("/{offer_id:str}/reject", status_code=HTTP_200_OK, responses=errors(400, 401, 404, 409))
    async def reject_offer(
        self,
        offer_id: FromPath[str],
        data: JSONBody[DecisionIn],
        handoffs: NamedDependency[SqlHandoffs],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> OfferOut:
        """Reject under a person's name; nothing is sent."""
        return await self._decide(handoffs, store, principal, offer_id, "reject", data)


@dataclass
class _CatalogueBody(Operation):
    """The body is read raw as CSV or JSON by its Content-Type (Litestar would parse a declared body as JSON)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={
                "text/csv": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.STRING,
                        description=f"UTF-8 CSV with the header {','.join(CSV_COLUMNS)}; competencies split by ';'",
                    )
                ),
                "application/json": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.ARRAY,
                        items=Schema(type=OpenAPIType.OBJECT, required=list(CSV_COLUMNS)),
                        description="courses; competencies as a list of ids",
                    )
                ),
            },
            required=True,
        )


class CourseController(Controller):
    path = "/v1/courses"
    tags = ["hand-offs"]  # noqa: RUF012
    guards = [role_guard]  # noqa: RUF012

    @put(opt=audited("courses_set"), responses=errors(400, 401), operation_class=_CatalogueBody)
    async def upload_catalogue(
        self, request: Request[Any, Any, Any], handoffs: NamedDependency[SqlHandoffs]
    ) -> CatalogueOut:
        """Replace the course catalogue, whole or not at all: `Content-Type: text/csv` (a header naming
        course_id,title,competencies,url,language in any order; competency ids split by `;`) or `application/json`
        (an array of objects with those keys, competencies a list). A bad row is a 400 naming its line or item."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await request.body()
        try:
            if kind == "text/csv":
                courses = catalogue_from_csv(body)
            elif kind == "application/json":
                courses = catalogue_from_json(body)
            else:
                raise CatalogueError(f"Content-Type {kind or 'none'!r}: send text/csv or application/json")
        except CatalogueError as exc:
            raise bad_request(str(exc)) from None
        return CatalogueOut([course_out(c) for c in await handoffs.set_catalogue(courses)])

    @get(opt=audited("courses_viewed"), responses=errors(401))
    async def get_catalogue(self, handoffs: NamedDependency[SqlHandoffs]) -> CatalogueOut:
        return CatalogueOut([course_out(c) for c in await handoffs.catalogue()])


class CompetencyController(Controller):
    path = "/v1/jobs/{job_id:str}/competencies"
    tags = ["hand-offs"]  # noqa: RUF012
    guards = [role_guard]  # noqa: RUF012

    @get(opt=audited("competencies_viewed"), responses=errors(401, 404))
    async def get_competencies(self, job_id: FromPath[str], handoffs: NamedDependency[SqlHandoffs]) -> CompetencyMapOut:
        try:
            m = await handoffs.competency_map(job_id)
        except JobNotFound:
            raise not_found("job", job_id) from None
        return CompetencyMapOut(job_id, {k: list(v) for k, v in m.dimensions.items()}, m.weak_below)

    @put(opt=audited("competencies_set"), responses=errors(400, 401, 404))
    async def set_competencies(
        self, job_id: FromPath[str], data: JSONBody[CompetencyMapIn], handoffs: NamedDependency[SqlHandoffs]
    ) -> CompetencyMapOut:
        """Replace the job's map. Each dimension must be in the job's plan and each competency id trained by a
        course of the catalogue (upload the catalogue first)."""
        try:
            m = await handoffs.set_competency_map(job_id, data.dimensions, data.weak_below)
        except JobNotFound:
            raise not_found("job", job_id) from None
        except CatalogueError as exc:
            raise bad_request(str(exc)) from None
        return CompetencyMapOut(job_id, {k: list(v) for k, v in m.dimensions.items()}, m.weak_below)


class TrainingController(Controller):
    path = "/v1"
    tags = ["hand-offs"]  # noqa: RUF012
    guards = [role_guard]  # noqa: RUF012

    @post(
        "/interviews/{interview_id:str}/training",
        opt=audited("training_recommended"),
        status_code=HTTP_201_CREATED,
        responses=errors(401, 404, 409),
    )
    async def recommend_training(
        self, interview_id: FromPath[str], handoffs: NamedDependency[SqlHandoffs]
    ) -> TrainingOut:
        """Courses for the hire's weak dimensions (scored under the job's `weak_below`), each with its reason
        ("sql 3.8/10: '<evidence>'"), from today's catalogue and map; sent as a `training.recommended` event. Only
        for a hire: an interview with a performance outcome (`POST /v1/outcomes`); otherwise 409."""
        try:
            return training_out(await handoffs.recommend_training(interview_id))
        except InterviewNotFound:
            raise not_found("interview", interview_id) from None
        except NotHired as exc:
            raise conflict(str(exc)) from None

    @get("/interviews/{interview_id:str}/training", opt=audited("training_listed"), responses=errors(401, 404))
    async def list_training(
        self, interview_id: FromPath[str], handoffs: NamedDependency[SqlHandoffs]
    ) -> list[TrainingOut]:
        """The interview's hire's recommendations, newest first."""
        try:
            return [training_out(r) for r in await handoffs.training(interview_id)]
        except InterviewNotFound:
            raise not_found("interview", interview_id) from None

    @get("/training/{recommendation_id:str}", opt=audited("training_viewed"), responses=errors(401, 404))
    async def get_training(
        self, recommendation_id: FromPath[str], handoffs: NamedDependency[SqlHandoffs]
    ) -> TrainingOut:
        try:
            return training_out(await handoffs.training_recommendation(recommendation_id))
        except TrainingNotFound:
            raise not_found("training recommendation", recommendation_id) from None
