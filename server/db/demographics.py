"""Candidates' voluntary self-identification (sex, race/ethnicity): its categories, and its only reads and writes.

Collected on a form apart from the interview and stored in its own table (`candidate_demographics`). The bias audit
(server/api/audits.py, via `hr.bias_audit`) is its one reader: no prompt, interviewer or scorer imports this module
or names its table, which tests/server/test_server_demographics.py checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.db.outcomes import chunks
from server.db.store import Store, now
from server.db.tables import CandidateRow, DemographicsRow

DECLINE = "Decline to answer"
# The EEO-1 categories that New York City Local Law 144's rules (6 RCNY §5-301) audit by, spelt as in
# tests/hr/test_hr_bias_audit.py's worked example.
SEX = ("Male", "Female")
RACE_ETHNICITY = (
    "Hispanic or Latino",
    "White",
    "Black or African American",
    "Native Hawaiian or Pacific Islander",
    "Asian",
    "Native American or Alaska Native",
    "Two or More Races",
)


class UnknownCategory(ValueError):
    """A value outside the form's categories; the message lists the ones there are."""


class CandidateMissing(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class SelfIdentification:
    """As the candidate answered: a category, or `Decline to answer`."""

    sex: str
    race_ethnicity: str

    def for_audit(self) -> tuple[str | None, str | None]:
        """Declining counts as unknown in the audit, as does never answering."""
        return (
            None if self.sex == DECLINE else self.sex,
            None if self.race_ethnicity == DECLINE else self.race_ethnicity,
        )


def _category(field: str, value: str, categories: tuple[str, ...]) -> str:
    if value in categories or value == DECLINE:
        return value
    allowed = ", ".join(f'"{c}"' for c in (*categories, DECLINE))
    raise UnknownCategory(f"{field} {value!r} is not one of the form's categories: {allowed}")


def self_identification(sex: str, race_ethnicity: str) -> SelfIdentification:
    """The answers, checked against the form's categories (UnknownCategory for anything else)."""
    return SelfIdentification(_category("sex", sex, SEX), _category("race_ethnicity", race_ethnicity, RACE_ETHNICITY))


class Demographics:
    """Reads and writes `candidate_demographics` over the store's engine."""

    def __init__(self, store: Store) -> None:
        self._session = async_sessionmaker(store.engine, expire_on_commit=False)

    async def record(self, candidate_id: str, answers: SelfIdentification) -> None:
        """Store (or replace: a candidate may change their answer) the candidate's self-identification."""
        async with self._session() as s, s.begin():
            if await s.get(CandidateRow, candidate_id) is None:
                raise CandidateMissing(candidate_id)
            row = await s.get(DemographicsRow, candidate_id, with_for_update=True)
            if row is None:
                s.add(
                    DemographicsRow(candidate_id=candidate_id, sex=answers.sex, race_ethnicity=answers.race_ethnicity)
                )
            else:
                row.sex, row.race_ethnicity, row.updated_at = answers.sex, answers.race_ethnicity, now()

    async def of(self, candidate_ids: Iterable[str]) -> Mapping[str, SelfIdentification]:
        """The candidates who answered, by id; those who never did are absent (unknown in the audit)."""
        ids = sorted(set(candidate_ids))
        if not ids:
            return {}
        found: dict[str, SelfIdentification] = {}
        async with self._session() as s:
            for chunk in chunks(ids):
                query = select(DemographicsRow).where(DemographicsRow.candidate_id.in_(chunk))
                found.update(
                    {r.candidate_id: SelfIdentification(r.sex, r.race_ethnicity) for r in await s.scalars(query)}
                )
        return found
