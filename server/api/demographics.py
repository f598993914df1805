"""`POST /v1/candidates/{id}/demographics`: the candidate's voluntary self-identification, from a form apart from
the interview, stored apart (server/db/demographics.py) for the bias audit only."""

from __future__ import annotations

from typing import Literal

from litestar import post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK
from msgspec import Struct

from server.auth import role_guard
from server.db.demographics import CandidateMissing, Demographics, self_identification
from server.db.store import Store
from server.errors import errors, not_found
from server.route_audit import audited

# The form's choices (server.db.demographics.SEX, RACE_ETHNICITY and DECLINE): listed here so the OpenAPI document
# shows them; tests/server/test_server_demographics.py checks the two lists are the same.
Sex = Literal["Male", "Female", "Decline to answer"]
RaceEthnicity = Literal[
    "Hispanic or Latino",
    "White",
    "Black or African American",
    "Native Hawaiian or Pacific Islander",
    "Asian",
    "Native American or Alaska Native",
    "Two or More Races",
    "Decline to answer",
]


class DemographicsIn(Struct):
    """Both answers are voluntary: "Decline to answer" is a choice, and counts as unknown in the audit."""

    sex: Sex
    race_ethnicity: RaceEthnicity


@post(
    "/v1/candidates/{candidate_id:str}/demographics",
    guards=[role_guard],
    # Not the answers; whose they are only as the entry's candidate link, which an erasure removes.
    opt=audited("demographics_recorded"),
    tags=["candidates"],
    status_code=HTTP_200_OK,
    responses=errors(400, 401, 404),
)
async def record_demographics(
    candidate_id: FromPath[str], data: JSONBody[DemographicsIn], store: NamedDependency[Store]
) -> DemographicsIn:
    """Store (or replace) the candidate's answers; never shown to the interviewer or the scorer."""
    answers = self_identification(data.sex, data.race_ethnicity)
    try:
        await Demographics(store).record(candidate_id, answers)
    except CandidateMissing:
        raise not_found("candidate", candidate_id) from None
    return data
