"""`GET /v1/jobs/{id}/scores` on a real server, SQLite and a real PostgreSQL: each scored interview of the job with
its overall and dimension scores as its stored report has them, and its hire's newest performance outcome; an
unknown job is a 404."""

from __future__ import annotations

import pytest
from hr_testkit import HrServer, hr_database_url, hr_server, known_structure, make_job, report, scored_interviews

__all__ = ["hr_database_url", "hr_server"]  # the fixtures, imported for this module's tests

N = 12
RATED = 5  # the first five hires have an outcome


async def test_each_scored_interview_with_its_newest_outcome(hr_server: HrServer) -> None:
    job = await make_job(hr_server.api, "Scored role")
    scores, performance = known_structure(N, seed=3)
    made = await scored_interviews(hr_server, job, scores)
    for (_, iid), p in list(zip(made, performance, strict=True))[:RATED]:
        for score, day in ((-p, "2026-01-31"), (p, "2026-06-30")):  # only the newer rating counts
            r = await hr_server.api.post(
                "/v1/outcomes",
                {"interview_id": iid, "score": score, "rated_at": day, "rater_saw_interview_scores": False},
            )
            assert r.status_code == 201, r.text
    r = await hr_server.api.get(f"/v1/jobs/{job}/scores")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["job_id"], body["pass_threshold"], body["unreadable_reports"]) == (job, 6.0, 0)
    by_id = {i["interview_id"]: i for i in body["interviews"]}
    assert set(by_id) == {iid for _, iid in made}
    for k, ((_, iid), dimension_scores) in enumerate(zip(made, scores, strict=True)):
        got, stored = by_id[iid], report(dimension_scores)
        assert got["overall"] == stored.overall and got["recommendation"] == stored.recommendation.value
        assert got["dimension_scores"] == pytest.approx(dimension_scores)
        assert got["plan_version"] == 1
        assert got["performance"] == (pytest.approx(performance[k]) if k < RATED else None)


async def test_an_unknown_job_is_404(hr_server: HrServer) -> None:
    r = await hr_server.api.get("/v1/jobs/nosuchjob/scores")
    assert r.status_code == 404, r.text
    assert r.json()["error"]["message"] == "no job with id 'nosuchjob'"
