"""Performance outcomes in over REST, on a real server on SQLite and a real PostgreSQL: one by JSON, many by CSV
upload, listed per job; a bad CSV line or an unknown interview is a 400 that names the line and column, and
nothing of that file is stored; erasing the candidate takes their outcomes and self-identification with them."""

from __future__ import annotations

from hr_testkit import HrServer, hr_database_url, hr_server, make_job, outcome_csv, post_csv, scored_interviews
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.tables import DemographicsRow, OutcomeRow

__all__ = ["hr_database_url", "hr_server"]  # the fixtures, imported for this module's tests

SCORES = {"sql": 6.0, "design": 5.0, "communication": 7.0}


async def _outcomes(hr: HrServer, job_id: str) -> list[dict[str, object]]:
    r = await hr.api.get(f"/v1/jobs/{job_id}/outcomes")
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_an_outcome_posted_as_json_is_linked_to_its_interview_and_listed_under_the_job(
    hr_server: HrServer,
) -> None:
    job = await make_job(hr_server.api)
    [(cid, iid)] = await scored_interviews(hr_server, job, [SCORES])
    body = {"interview_id": iid, "score": 4.5, "rated_at": "2026-06-30", "rater_saw_interview_scores": True}
    r = await hr_server.api.post("/v1/outcomes", body)
    assert r.status_code == 201, r.text
    got = r.json()
    assert {k: got[k] for k in body} == body and got["candidate_id"] == cid and got["id"] > 0
    assert [{k: o[k] for k in body} for o in await _outcomes(hr_server, job)] == [body]


async def test_a_csv_upload_stores_every_row_in_order(hr_server: HrServer) -> None:
    job = await make_job(hr_server.api)
    made = await scored_interviews(hr_server, job, [SCORES] * 3)
    rows = [(iid, 3.0 + k, f"2026-0{k + 1}-15", k == 1) for k, (_, iid) in enumerate(made)]
    r = await post_csv(hr_server.api, outcome_csv(rows))
    assert r.status_code == 201, r.text
    assert r.json()["stored"] == 3
    listed = await _outcomes(hr_server, job)
    assert [(o["interview_id"], o["score"], o["rated_at"], o["rater_saw_interview_scores"]) for o in listed] == rows


async def test_csv_columns_may_come_in_any_order_with_others_beside_them(hr_server: HrServer) -> None:
    job = await make_job(hr_server.api)
    [(_, iid)] = await scored_interviews(hr_server, job, [SCORES])
    body = f"\ufeffrated_at,note,rater_saw_interview_scores,score,interview_id\r\n2026-03-01,ok,FALSE,2.5,{iid}\r\n\r\n"
    r = await post_csv(hr_server.api, body.encode())
    assert r.status_code == 201, r.text
    assert [(o["score"], o["rater_saw_interview_scores"]) for o in await _outcomes(hr_server, job)] == [(2.5, False)]


async def test_a_bad_csv_value_is_named_by_line_and_column_and_nothing_of_the_file_is_stored(
    hr_server: HrServer,
) -> None:
    job = await make_job(hr_server.api)
    made = await scored_interviews(hr_server, job, [SCORES] * 3)
    good = [(iid, 4.0, "2026-05-01", False) for _, iid in made]
    cases = {
        "line 3, column score: 'excellent' is not a number": outcome_csv(good)
        .replace(b"4.0", b"excellent", 2)
        .replace(b"excellent", b"4.0", 1),
        "line 4, column rated_at: '2026-13-01' is not a date": outcome_csv(
            [*good[:2], (good[2][0], 4.0, "2026-13-01", False)]
        ),
        "line 2, column rater_saw_interview_scores: 'maybe'": outcome_csv(good).replace(b",no\n", b",maybe\n", 1),
        "line 1: the header lacks column score": b"interview_id,rated_at,rater_saw_interview_scores\nx,2026-01-01,no\n",
        "line 3: 3 fields where the header has 4": outcome_csv(good[:1]) + b"a,1,2026-01-01\n",
        "the file has a header but no outcomes": outcome_csv([]),
        "the file is not UTF-8": outcome_csv(good).replace(b"interview_id", b"interview_\xff", 1),
        "line 4, column interview_id: no interview with id 'nosuchinterview' (and 1 more lines)": outcome_csv(
            [*good[:2], ("nosuchinterview", 1.0, "2026-01-01", True), ("another", 1.0, "2026-01-01", True)]
        ),
    }
    for message, body in cases.items():
        r = await post_csv(hr_server.api, body)
        assert r.status_code == 400, (message, r.text)
        assert r.json()["error"]["code"] == "bad_request"
        assert message in r.json()["error"]["message"], r.text
    assert await _outcomes(hr_server, job) == [], "no row of a refused file is stored"


async def test_an_outcome_for_an_unknown_interview_or_with_a_bad_value_is_refused(hr_server: HrServer) -> None:
    job = await make_job(hr_server.api)
    [(_, iid)] = await scored_interviews(hr_server, job, [SCORES])
    good = {"interview_id": iid, "score": 4.5, "rated_at": "2026-06-30", "rater_saw_interview_scores": False}
    unknown = await hr_server.api.post("/v1/outcomes", {**good, "interview_id": "nosuchinterview"})
    assert unknown.status_code == 400, unknown.text
    assert "no interview with id 'nosuchinterview'" in unknown.json()["error"]["message"]
    for bad in ({"rated_at": "June"}, {"score": "high"}, {"rater_saw_interview_scores": "perhaps"}):
        r = await hr_server.api.post("/v1/outcomes", {**good, **bad})
        assert r.status_code == 400 and next(iter(bad)) in r.json()["error"]["message"], r.text
    missing = await hr_server.api.post("/v1/outcomes", {k: v for k, v in good.items() if k != "rated_at"})
    assert missing.status_code == 400 and "rated_at" in missing.json()["error"]["message"], missing.text
    assert (await hr_server.api.get("/v1/jobs/nosuchjob/outcomes")).status_code == 404
    assert (await hr_server.api.post("/v1/outcomes", good, auth=False)).status_code == 401
    assert await _outcomes(hr_server, job) == []


async def _outcome_rows(hr: HrServer, interview_id: str) -> int:
    async with AsyncSession(hr.store.engine) as s:
        query = select(func.count()).select_from(OutcomeRow).where(OutcomeRow.interview_id == interview_id)
        return int(await s.scalar(query) or 0)


async def _answered(hr: HrServer, candidate_id: str) -> bool:
    async with AsyncSession(hr.store.engine) as s:
        return await s.get(DemographicsRow, candidate_id) is not None


async def test_erasing_the_candidate_takes_their_outcomes_and_self_identification(hr_server: HrServer) -> None:
    job = await make_job(hr_server.api)
    (gone_c, gone_i), (kept_c, kept_i) = await scored_interviews(hr_server, job, [SCORES, SCORES])
    await post_csv(hr_server.api, outcome_csv([(gone_i, 2.0, "2026-01-01", False), (kept_i, 3.0, "2026-01-01", False)]))
    for cid in (gone_c, kept_c):
        answers = {"sex": "Female", "race_ethnicity": "Asian"}
        r = await hr_server.api.post(f"/v1/candidates/{cid}/demographics", answers)
        assert r.status_code == 200, r.text

    erased = await hr_server.api.post(f"/v1/candidates/{gone_c}/erase", {})
    assert erased.status_code == 200, erased.text
    counts = erased.json()["counts"]
    assert counts["performance_outcomes"] == 1 and counts["candidate_demographics"] == 1
    assert await _outcome_rows(hr_server, gone_i) == 0 and not await _answered(hr_server, gone_c)
    assert await _outcome_rows(hr_server, kept_i) == 1 and await _answered(hr_server, kept_c)
    assert [o["interview_id"] for o in await _outcomes(hr_server, job)] == [kept_i]
