"""`GET /v1/audits/bias` on a real server, on SQLite and a real PostgreSQL: the stored reports joined with the
self-identification kept apart give hr.bias_audit's audit of exactly those people (unknowns counted, declining is
unknown), the CSV (by Accept or by ?format=csv) says what the JSON says, and the date window and bad parameters
are handled."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hr_testkit import HrServer, hr_database_url, hr_server, known_structure, make_job, report, scored_interviews

from dialogue.report import Recommendation
from hr.bias_audit import AuditRecord, bias_audit

__all__ = ["hr_database_url", "hr_server"]  # the fixtures, imported for this module's tests

N = 40
RACES = ("White", "Asian", "Black or African American", "Hispanic or Latino")


def _answers(k: int) -> dict[str, str] | None:
    """Candidate k's form: every seventh never answers, every tenth declines their sex, the rest answer."""
    if k % 7 == 6:
        return None
    sex = "Decline to answer" if k % 10 == 9 else ("Male" if k % 2 == 0 else "Female")
    return {"sex": sex, "race_ethnicity": RACES[k % 4]}


@pytest.fixture(scope="module")
async def audited_job(hr_server: HrServer) -> tuple[str, list[AuditRecord]]:
    """A job of N interviews with stored reports and self-identification; the records the audit should see."""
    job = await make_job(hr_server.api, "Audited role")
    scores, _ = known_structure(N, seed=7)
    made = await scored_interviews(hr_server, job, scores)
    records = []
    for k, ((cid, _), dimension_scores) in enumerate(zip(made, scores, strict=True)):
        answers = _answers(k)
        if answers is not None:
            r = await hr_server.api.post(f"/v1/candidates/{cid}/demographics", answers)
            assert r.status_code == 200, r.text
        stored = report(dimension_scores)
        sex = None if answers is None or answers["sex"] == "Decline to answer" else answers["sex"]
        race = None if answers is None else answers["race_ethnicity"]
        records.append(AuditRecord(stored.recommendation, stored.overall, dimension_scores, sex, race))
    return job, records


async def _audit(hr: HrServer, **params: str) -> dict[str, Any]:
    r = await hr.api.get("/v1/audits/bias", **params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return dict(r.json())


async def test_the_audit_is_hr_bias_audit_of_the_stored_reports_joined_with_the_forms(
    hr_server: HrServer, audited_job: tuple[str, list[AuditRecord]]
) -> None:
    job, records = audited_job
    body = await _audit(hr_server, job_id=job)
    assert body["job_id"] == job and body["interviews"] == N and body["unreadable_reports"] == 0
    assert body["audit"] == msgspec.json.decode(msgspec.json.encode(bias_audit(records)))
    # And by hand, for one table: advance rates by sex, with the unknowns (never answered, or declined) apart.
    table = next(t for t in body["audit"]["tables"] if t["measure"] == "advance" and t["axis"] == "sex")
    advanced = [r.recommendation is Recommendation.ADVANCE for r in records]
    for group in table["groups"]:
        people = [k for k in range(N) if records[k].sex == group["category"]]
        assert (group["n"], group["hits"]) == (len(people), sum(advanced[k] for k in people))
    unknown_sex = sum(a is None or a["sex"] == "Decline to answer" for a in map(_answers, range(N)))
    assert table["unknown"] == unknown_sex == sum(r.sex is None for r in records) > 0


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_csv_says_what_the_json_says_asked_by_accept_or_by_format(
    hr_server: HrServer, audited_job: tuple[str, list[AuditRecord]]
) -> None:
    job, _ = audited_job
    body = await _audit(hr_server, job_id=job)
    by_format = await hr_server.api.get("/v1/audits/bias", job_id=job, format="csv")
    assert by_format.status_code == 200 and by_format.headers["content-type"].startswith("text/csv")
    assert f'filename="bias-audit-{job}.csv"' in by_format.headers["content-disposition"]
    async with hr_server.api_client() as c:
        by_accept = await c.get("/v1/audits/bias", params={"job_id": job}, headers={"Accept": "text/csv"})
    assert by_accept.status_code == 200 and by_accept.text == by_format.text
    rows = _csv_rows(by_format.text)
    tables = body["audit"]["tables"]
    assert len(rows) == sum(len(t["groups"]) + 1 for t in tables)
    keyed = {(r["measure"], r["kind"], r["axis"], r["category"]): r for r in rows}
    for t in tables:
        head = (t["measure"], t["kind"], t["axis"])
        assert keyed[(*head, "(unknown)")]["n"] == str(t["unknown"])
        for g in t["groups"]:
            row = keyed[(*head, g["category"])]
            assert (int(row["n"]), int(row["hits"]), row["reference"]) == (g["n"], g["hits"], t["reference"] or "")
            assert row["rate"] == f"{g['rate']:.4f}"
            ratio = "" if g["impact_ratio"] is None else f"{g['impact_ratio']:.3f}"
            assert row["impact_ratio"] == ratio
            assert row["four_fifths_flag"] == ("yes" if g["four_fifths_flag"] else "no")


async def test_the_date_window_selects_interviews_by_the_day_they_ended(
    hr_server: HrServer, audited_job: tuple[str, list[AuditRecord]]
) -> None:
    job, _ = audited_job
    today = datetime.now(UTC).date()
    day = timedelta(days=1)
    assert (await _audit(hr_server, job_id=job, **{"from": str(today), "to": str(today)}))["interviews"] == N
    assert (await _audit(hr_server, job_id=job, **{"from": str(today + day)}))["interviews"] == 0
    assert (await _audit(hr_server, job_id=job, to=str(today - day)))["interviews"] == 0


async def test_bad_parameters_are_refused_with_the_reason(
    hr_server: HrServer, audited_job: tuple[str, list[AuditRecord]]
) -> None:
    job, _ = audited_job
    backwards = await hr_server.api.get("/v1/audits/bias", job_id=job, **{"from": "2026-05-02", "to": "2026-05-01"})
    assert backwards.status_code == 400 and "after" in backwards.json()["error"]["message"], backwards.text
    for params in ({"from": "May"}, {"format": "xml"}):
        r = await hr_server.api.get("/v1/audits/bias", job_id=job, **params)
        assert r.status_code == 400 and next(iter(params)) in r.json()["error"]["message"], r.text
    unknown = await hr_server.api.get("/v1/audits/bias", job_id="nosuchjob")
    assert unknown.status_code == 404 and "nosuchjob" in unknown.json()["error"]["message"], unknown.text
    assert (await hr_server.api.get("/v1/audits/bias", job_id=job, auth=False)).status_code == 401
