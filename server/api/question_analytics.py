"""`GET /v1/jobs/{id}/questions/analytics`: how each version of each of a job's questions performs (valid-answer
rates with Wilson intervals, follow-up, rephrase and abandonment rates, answer length, discrimination), and each
reworded question's versions compared on the first-pass valid-answer rate; all from the stored interviews.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIFormat
from litestar.params import FromPath, QueryParameter
from msgspec import Struct

from hr.question_analytics import QuestionVersionStats, VersionComparison, compare_versions, question_analytics
from server.auth import role_guard
from server.db.question_analytics import QuestionAskings
from server.db.status import JobStatus
from server.db.store import Store
from server.errors import bad_request, conflict, errors, not_found
from server.route_audit import audited


class QuestionVersionOut(Struct):
    question_id: str
    version: int  # the plan version that introduced this wording
    text: str
    dimension: str
    stats: QuestionVersionStats


class ComparisonOut(Struct):
    """Version b of a question against version a, the one it replaced (b later)."""

    question_id: str
    version_a: int
    version_b: int
    comparison: VersionComparison


class QuestionAnalyticsOut(Struct):
    job_id: str
    plan_version: int | None  # the interviews of this plan version only; None: every version
    start: date | None  # the `from` and `to` asked for (inclusive, by the day the interview ended, UTC)
    end: date | None
    interviews: int  # with a readable report
    unreadable_reports: int
    questions: list[QuestionVersionOut]
    comparisons: list[ComparisonOut]  # each reworded question's consecutive versions


def _day(name: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{name}: {text!r} is not a date as YYYY-MM-DD") from None


def _comparisons(questions: list[QuestionVersionOut]) -> list[ComparisonOut]:
    found = []
    for older, newer in pairwise(questions):
        if older.question_id == newer.question_id:  # sorted by question, then version
            comparison = compare_versions(older.stats, newer.stats)
            found.append(ComparisonOut(older.question_id, older.version, newer.version, comparison))
    return found


@get(
    "/v1/jobs/{job_id:str}/questions/analytics",
    guards=[role_guard],
    opt=audited("question_analytics_viewed", "plan_version", "from", "to"),
    tags=["studies"],
    responses=errors(400, 401, 404, 409),
)
async def job_question_analytics(
    job_id: FromPath[str],
    store: NamedDependency[Store],
    # A version is a database integer: a larger number names none (and must not reach the database).
    plan_version: Annotated[
        int | None, QueryParameter(description="only the interviews that ran this plan version", ge=1, le=2**31 - 1)
    ] = None,
    # Read as text and parsed here, so that an error names the query parameter as the client sent it.
    start_text: Annotated[
        str | None,
        QueryParameter(name="from", format=OpenAPIFormat.DATE, description="interviews ended on or after (UTC)"),
    ] = None,
    end_text: Annotated[
        str | None,
        QueryParameter(name="to", format=OpenAPIFormat.DATE, description="interviews ended on or before (UTC)"),
    ] = None,
) -> QuestionAnalyticsOut:
    """Per question version (rewording makes a new one): times asked; the valid-answer rate first pass and after
    follow-up (≥ 25 words en / ≥ 40 characters zh, relevant by the scorer's relevance signal, not a refusal, ≥ 2
    STAR elements for behavioural questions); rephrase-request, follow-up and abandonment rates, each with its
    Wilson 95 % interval; median first-answer length; discrimination (corrected item–total r). `comparisons` sets
    each reworded question's versions side by side with the pooled two-proportion z-test (docs/hr-analytics.md)."""
    start, end = _day("from", start_text), _day("to", end_text)
    if start is not None and end is not None and start > end:
        raise bad_request(f"from ({start}) is after to ({end})")
    job = await store.job(job_id)
    if job is None:
        raise not_found("job", job_id)
    if job.status == JobStatus.DRAFTING:
        raise conflict(f"job {job_id}'s plan is still being drafted; it has no interviews to study yet")
    reader = QuestionAskings(store)
    if plan_version is not None and plan_version not in await reader.plan_version_numbers(job_id):
        raise not_found("plan version", f"{job_id}/{plan_version}")
    found = await reader.of_job(job_id, plan_version, start, end)
    texts = {(v.question_id, v.version): v for v in found.versions}
    questions = []
    for stats in question_analytics(found.askings):
        v = texts[(stats.question_id, stats.version)]
        questions.append(QuestionVersionOut(v.question_id, v.version, v.text, v.dimension, stats))
    return QuestionAnalyticsOut(
        job_id=job_id,
        plan_version=plan_version,
        start=start,
        end=end,
        interviews=found.interviews,
        unreadable_reports=found.unreadable_reports,
        questions=questions,
        comparisons=_comparisons(questions),
    )
