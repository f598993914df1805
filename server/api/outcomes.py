"""`/v1/outcomes`: hires' performance results in, one by JSON or many by CSV upload, each linked to the interview
that assessed the hire; `GET /v1/jobs/{id}/outcomes` lists a job's. They feed the validity study and the weight
proposals (server/api/studies.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, JSONBody
from msgspec import Meta, Struct

from server.auth import role_guard
from server.db.outcomes import NewOutcome, Outcomes, StoredOutcome, UnknownInterviews
from server.db.store import Store
from server.errors import bad_request, errors, not_found
from server.outcomes_csv import COLUMNS, CsvProblem, parse_outcomes
from server.people import Principal
from server.route_audit import audited

InterviewId = Annotated[str, Meta(min_length=1, max_length=32)]


class OutcomeIn(Struct):
    """One hire's performance result, on the company's own scale (the studies standardise it)."""

    interview_id: InterviewId
    score: float
    rated_at: date
    rater_saw_interview_scores: bool  # whoever rated the performance could see the interview scores


class OutcomeOut(Struct):
    id: int
    interview_id: str
    candidate_id: str
    score: float
    rated_at: date
    rater_saw_interview_scores: bool
    created_at: datetime


class OutcomesStored(Struct):
    stored: int
    outcomes: list[OutcomeOut]


def outcome_out(o: StoredOutcome) -> OutcomeOut:
    return OutcomeOut(
        o.id, o.interview_id, o.candidate_id, o.score, o.rated_at, o.rater_saw_interview_scores, o.created_at
    )


@post("/v1/outcomes", guards=[role_guard], tags=["outcomes"], responses=errors(400, 401))
async def add_outcome(
    data: JSONBody[OutcomeIn], store: NamedDependency[Store], principal: NamedDependency[Principal]
) -> OutcomeOut:
    """One performance outcome; the interview it names must exist (400 otherwise)."""
    if not math.isfinite(data.score):  # JSON has no infinity, but 1e999 parses as one
        raise bad_request("score must be a finite number")
    new = NewOutcome(data.interview_id, data.score, data.rated_at, data.rater_saw_interview_scores)
    try:
        (stored,) = await Outcomes(store).add([new])
    except UnknownInterviews as exc:
        raise bad_request(f"interview_id: {exc}; outcomes are linked to the interview that assessed the hire") from None
    await store.audit(principal.actor, "outcome_recorded", stored.interview_id, outcome_id=stored.id)
    return outcome_out(stored)


@dataclass
class _CsvBody(Operation):
    """The body is CSV text, read raw (Litestar would parse a declared body as JSON): the document says so."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={
                "text/csv": OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING, description=f"UTF-8 CSV with the header {','.join(COLUMNS)}")
                )
            },
            required=True,
        )


@post(
    "/v1/outcomes.csv",
    guards=[role_guard],
    tags=["outcomes"],
    responses=errors(400, 401),
    operation_class=_CsvBody,
)
async def upload_outcomes(
    request: Request[Any, Any, Any], store: NamedDependency[Store], principal: NamedDependency[Principal]
) -> OutcomesStored:
    """Many outcomes as CSV (`Content-Type: text/csv`): a header line naming the columns
    `interview_id,score,rated_at,rater_saw_interview_scores` (in any order, others ignored), then one outcome a line;
    dates as YYYY-MM-DD, yes/no as yes, no, true, false, 1 or 0. All or nothing: a bad value, or an interview that
    does not exist, is a 400 naming its line and column, and nothing of the file is stored."""
    try:
        rows = parse_outcomes(await request.body())
    except CsvProblem as exc:
        raise bad_request(str(exc)) from None
    try:
        stored = await Outcomes(store).add([r.outcome for r in rows])
    except UnknownInterviews as exc:
        first = rows[exc.positions[0]]
        more = f" (and {len(exc.positions) - 1} more lines)" if len(exc.positions) > 1 else ""
        raise bad_request(
            f"line {first.line}, column interview_id: no interview with id {first.outcome.interview_id!r}{more}; "
            "nothing from this file was stored"
        ) from None
    # One entry for the file, with how many: one per outcome would lengthen the chain by a whole upload.
    await store.audit(principal.actor, "outcomes_uploaded", None, stored=len(stored))
    return OutcomesStored(len(stored), [outcome_out(o) for o in stored])


@get(
    "/v1/jobs/{job_id:str}/outcomes",
    guards=[role_guard],
    opt=audited("outcomes_listed"),
    tags=["outcomes"],
    responses=errors(401, 404),
)
async def job_outcomes(job_id: FromPath[str], store: NamedDependency[Store]) -> list[OutcomeOut]:
    """Every outcome of the job's hires, oldest rating first (a hire rated again has several)."""
    if await store.job(job_id) is None:
        raise not_found("job", job_id)
    return [outcome_out(o) for o in await Outcomes(store).for_job(job_id)]
