"""`/v1/candidates`: the people being interviewed, with an optional résumé."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from dialogue.resume_redact import resume_problem
from server.api.schemas import CandidateIn, CandidateOut
from server.auth import hr_guard
from server.db.store import Store
from server.db.tables import CandidateRow
from server.errors import bad_request, errors, not_found


def candidate_out(row: CandidateRow) -> CandidateOut:
    return CandidateOut(id=row.id, name=row.name, email=row.email, resume_text=row.resume_text)


class CandidateController(Controller):
    path = "/v1/candidates"
    guards = [hr_guard]  # noqa: RUF012  (Litestar reads guards as a class attribute)
    tags = ["candidates"]  # noqa: RUF012

    @post(responses=errors(400, 401))
    async def create_candidate(self, data: JSONBody[CandidateIn], store: NamedDependency[Store]) -> CandidateOut:
        problem = None if data.resume_text is None else resume_problem(data.resume_text)
        if problem is not None:
            raise bad_request(problem)
        row = CandidateRow(id=uuid.uuid4().hex, name=data.name.strip(), email=data.email, resume_text=data.resume_text)
        await store.add_candidate(row)
        return candidate_out(row)

    @get("/{candidate_id:str}", responses=errors(401, 404))
    async def get_candidate(self, candidate_id: FromPath[str], store: NamedDependency[Store]) -> CandidateOut:
        row = await store.candidate(candidate_id)
        if row is None:
            raise not_found("candidate", candidate_id)
        return candidate_out(row)
