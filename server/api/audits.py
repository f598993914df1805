"""`GET /v1/audits/bias`: the Local Law 144 bias audit (hr.bias_audit) of stored interviews, joined with the
candidates' self-identification kept apart, as JSON or, with `Accept: text/csv` or `?format=csv`, as CSV."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from litestar import MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import QueryParameter
from msgspec import Struct

from hr.bias_audit import BiasAudit, audit_csv
from server import hr_studies
from server.auth import role_guard
from server.db.demographics import Demographics
from server.db.outcomes import Outcomes
from server.db.store import Store
from server.errors import bad_request, errors, not_found
from server.route_audit import audited

CSV = "text/csv"


class BiasAuditOut(Struct):
    job_id: str | None  # None: every job's interviews
    start: date | None  # the `from` and `to` asked for (inclusive, by the day the interview ended, UTC)
    end: date | None
    interviews: int
    unreadable_reports: int  # reports in a format older than this server's, left out (score them again)
    audit: BiasAudit


@dataclass
class _JsonOrCsv(Operation):
    """The 200 answer is JSON or, asked for, CSV: the document says both."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content[CSV] = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))


_FROM = "interviews ended on or after this day (YYYY-MM-DD, UTC)"
_TO = "interviews ended on or before this day (YYYY-MM-DD, UTC)"


def _day(name: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{name}: {text!r} is not a date as YYYY-MM-DD") from None


def _wants_csv(request: Request[Any, Any, Any], fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "csv"
    return request.accept.best_match([MediaType.JSON, CSV], default=MediaType.JSON) == CSV


@get(
    "/v1/audits/bias",
    guards=[role_guard],
    # Not `exclusion_justification`: it is free text.
    opt=audited("bias_audit_viewed", "job_id", "from", "to", "format"),
    tags=["audits"],
    responses=errors(400, 401, 404),
    operation_class=_JsonOrCsv,
)
async def bias_audit(
    request: Request[Any, Any, Any],
    store: NamedDependency[Store],
    job_id: Annotated[str | None, QueryParameter(description="one job's interviews; all jobs' when left out")] = None,
    # Read as text and parsed here: Litestar would name a bad date by the Python parameter (`start`), not `from`.
    start_text: Annotated[str | None, QueryParameter(name="from", format=OpenAPIFormat.DATE, description=_FROM)] = None,
    end_text: Annotated[str | None, QueryParameter(name="to", format=OpenAPIFormat.DATE, description=_TO)] = None,
    # Named as the query parameter, so an error names it too.
    format: Annotated[
        Literal["json", "csv"] | None, QueryParameter(description="csv: the same as Accept: text/csv")
    ] = None,
    exclusion_justification: Annotated[
        str | None,
        QueryParameter(
            description="given, categories under 2 % are left out of impact ratios with this reason "
            "(6 RCNY §5-301(d)); still reported with their counts and rates",
            max_length=1000,
        ),
    ] = None,
) -> Response[BiasAuditOut]:
    """Selection rates (`advance`; `advance or hold`) and scoring rates (overall and each dimension) by sex,
    race/ethnicity and their intersection, with impact ratios, unknown counts, the four-fifths flag, Fisher exact
    p, Wilson intervals, the shortfall to 0.8 and the one-person flip test (docs/hr-analytics.md)."""
    start, end = _day("from", start_text), _day("to", end_text)
    if start is not None and end is not None and start > end:
        raise bad_request(f"from ({start}) is after to ({end})")
    if job_id is not None and await store.job(job_id) is None:
        raise not_found("job", job_id)
    results = await Outcomes(store).scored_interviews(job_id, start, end)
    people = await Demographics(store).of(i.candidate_id for i in results.interviews)
    audit = hr_studies.audit(results.interviews, people, exclusion_justification)
    if _wants_csv(request, format):
        name = f"bias-audit-{job_id or 'all'}.csv"
        return Response(
            audit_csv(audit),  # type: ignore[arg-type]  # the CSV form of the same audit (see _JsonOrCsv)
            media_type=CSV,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return Response(BiasAuditOut(job_id, start, end, len(results.interviews), results.unreadable_reports, audit))
