"""The validity study, the weight proposal and its approval over REST, on a real server on SQLite and a real
PostgreSQL, with 40 interviews whose dimension scores correlate with their hires' performance exactly as built
(r = 0.5, 0.2, 0.0): the study recovers each r; 12 outcomes are refused with the reason; a named person's approval
makes plan version 2 while version-1 interviews and reports stay as they were; every bad approval is refused. Each
hire is rated twice, and only the newer rating counts."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hr_testkit import (
    TRUE_R,
    WEIGHTS,
    HrServer,
    hr_database_url,
    hr_server,
    known_structure,
    make_job,
    outcome_csv,
    post_csv,
    scored_interviews,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogue.plan import Dimension
from hr.reweighting import MAX_STEP, HireOutcome, WeightProposal, propose_weights
from hr.validity import MIN_OUTCOMES
from server.db.tables import AuditRow

__all__ = ["hr_database_url", "hr_server"]  # the fixtures, imported for this module's tests

N = 40
SAW = 5  # the first five hires' raters could see the interview scores


async def _job_with_outcomes(
    hr: HrServer, n: int, seed: int
) -> tuple[str, list[str], list[dict[str, float]], list[float]]:
    job = await make_job(hr.api, f"Studied role {seed}")
    scores, performance = known_structure(n, seed)
    made = await scored_interviews(hr, job, scores)
    # An earlier rating of every hire, the opposite of the later one: only each hire's newest may count.
    stale = [(iid, -p, "2026-03-31", True) for (_, iid), p in zip(made, performance, strict=True)]
    rows = [(iid, p, "2026-09-30", k < SAW) for k, ((_, iid), p) in enumerate(zip(made, performance, strict=True))]
    for ratings in (rows, stale):  # the stale ones uploaded last: the rating's date decides, not the upload's order
        r = await post_csv(hr.api, outcome_csv(ratings))
        assert r.status_code == 201, r.text
    return job, [iid for _, iid in made], scores, performance


@pytest.fixture(scope="module")
async def studied(hr_server: HrServer) -> tuple[str, list[str], list[dict[str, float]], list[float]]:
    return await _job_with_outcomes(hr_server, N, seed=11)


async def _get(hr: HrServer, path: str) -> dict[str, Any]:
    r = await hr.api.get(path)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_the_validity_study_recovers_each_dimensions_correlation_with_performance(
    hr_server: HrServer, studied: tuple[str, list[str], list[dict[str, float]], list[float]]
) -> None:
    job = studied[0]
    body = await _get(hr_server, f"/v1/jobs/{job}/validity")
    assert (body["interviews"], body["outcomes"], body["plan_version"]) == (N, N, 1)
    found = {d["dimension"]: d for d in body["dimensions"]}
    assert set(found) == set(TRUE_R)
    for name, r in TRUE_R.items():
        study = found[name]["study"]
        assert found[name]["refusal"] is None and study["n"] == N
        assert abs(study["r"] - r) <= 0.05, (name, study["r"])
        assert study["ci_low"] < study["r"] < study["ci_high"]
        half = 1.959964 / math.sqrt(N - 3)  # Fisher z, by hand
        assert study["ci_low"] == pytest.approx(math.tanh(math.atanh(study["r"]) - half), abs=1e-6)
        assert study["corrected_r"] is not None and study["contaminated_share"] == SAW / N
        kinds = {w["kind"] for w in study["warnings"]}
        assert {"rater_contamination", "small_sample"} <= kinds
        contamination = next(w for w in study["warnings"] if w["kind"] == "rater_contamination")
        assert f"{SAW} of {N} performance ratings" in contamination["message"]
    assert found["sql"]["study"]["p_value"] < 0.01 < found["communication"]["study"]["p_value"]


async def test_twelve_outcomes_are_refused_with_the_reason_and_there_is_nothing_to_approve(
    hr_server: HrServer,
) -> None:
    job, *_ = await _job_with_outcomes(hr_server, 12, seed=5)
    body = await _get(hr_server, f"/v1/jobs/{job}/validity")
    for d in body["dimensions"]:
        assert d["study"] is None and d["refusal"]["reason"] == "too_few_outcomes" and d["refusal"]["n"] == 12
        assert f"12 performance outcomes; a study needs at least {MIN_OUTCOMES}" in d["refusal"]["message"]
    proposal = await _get(hr_server, f"/v1/jobs/{job}/weights/proposal")
    assert proposal["proposal"] is None and proposal["proposed_weights"] is None and proposal["simulation"] is None
    assert proposal["no_proposal"]["reason"] == "too_few_outcomes" and proposal["no_proposal"]["n"] == 12
    refused = await hr_server.api.post(f"/v1/jobs/{job}/weights/approve", {"approved_by": "Dana", "weights": WEIGHTS})
    assert refused.status_code == 409, refused.text
    message = refused.json()["error"]["message"]
    assert "no weight proposal" in message and proposal["no_proposal"]["message"] in message
    assert (await _get(hr_server, f"/v1/jobs/{job}"))["plan"]["version"] == 1


async def test_the_proposal_is_the_libraries_from_the_stored_data_with_its_replay_under_both_weightings(
    hr_server: HrServer, studied: tuple[str, list[str], list[dict[str, float]], list[float]]
) -> None:
    job, _, scores, performance = studied
    body = await _get(hr_server, f"/v1/jobs/{job}/weights/proposal")
    expected = propose_weights(
        [Dimension(n, w) for n, w in WEIGHTS.items()],
        [HireOutcome(s, p) for s, p in zip(scores, performance, strict=True)],
    )
    assert isinstance(expected, WeightProposal)
    assert body["proposed_weights"] == {n: round(w, 6) for n, w in expected.proposed().items()}
    assert body["current_weights"] == WEIGHTS and body["no_proposal"] is None
    moves = {n: body["proposed_weights"][n] - w for n, w in WEIGHTS.items()}
    assert moves["sql"] > 0 > moves["communication"] and all(abs(m) <= MAX_STEP + 1e-6 for m in moves.values())
    simulation = body["simulation"]
    for side in ("current", "proposed"):
        assert simulation[side]["interviews"] == N and 0 <= simulation[side]["pass_rate"] <= 1
        assert simulation[side]["audit"]["n"] == N and simulation[side]["audit"]["tables"]
    # Today's weights replayed give back the stored reports' own advances.
    stored = [sum(s[n] * w for n, w in WEIGHTS.items()) for s in scores]
    assert simulation["current"]["passed"] == sum(round(o, 1) >= simulation["pass_threshold"] for o in stored)


async def test_an_approval_that_is_not_the_current_proposal_is_refused(
    hr_server: HrServer, studied: tuple[str, list[str], list[dict[str, float]], list[float]]
) -> None:
    job = studied[0]
    proposed = (await _get(hr_server, f"/v1/jobs/{job}/weights/proposal"))["proposed_weights"]
    path = f"/v1/jobs/{job}/weights/approve"
    nudged = {**proposed, "sql": proposed["sql"] + 0.05, "communication": proposed["communication"] - 0.05}
    off = await hr_server.api.post(path, {"approved_by": "Dana", "weights": nudged})
    assert off.status_code == 409 and "not the current proposal's" in off.json()["error"]["message"], off.text
    fewer = {k: v for k, v in proposed.items() if k != "design"}
    short = await hr_server.api.post(path, {"approved_by": "Dana", "weights": fewer})
    assert short.status_code == 400 and "design" in short.json()["error"]["message"], short.text
    for nobody in ("", "   "):
        r = await hr_server.api.post(path, {"approved_by": nobody, "weights": proposed})
        assert r.status_code == 400 and "approved_by" in r.json()["error"]["message"], r.text
    no_weights = await hr_server.api.post(path, {"approved_by": "Dana"})
    assert no_weights.status_code == 400 and "weights" in no_weights.json()["error"]["message"], no_weights.text
    unknown = await hr_server.api.post("/v1/jobs/nosuchjob/weights/approve", {"approved_by": "D", "weights": proposed})
    assert unknown.status_code == 404, unknown.text
    assert (await _get(hr_server, f"/v1/jobs/{job}"))["plan"]["version"] == 1, "nothing was applied"


async def test_an_approved_proposal_is_plan_version_2_and_version_1_interviews_and_reports_are_unchanged(
    hr_server: HrServer, studied: tuple[str, list[str], list[dict[str, float]], list[float]]
) -> None:
    job, interviews, *_ = studied
    before = {iid: await _get(hr_server, f"/v1/interviews/{iid}") for iid in interviews[:3]}
    reports_before = [(await hr_server.api.get(f"/v1/interviews/{iid}/reports")).json() for iid in interviews[:3]]
    proposed = (await _get(hr_server, f"/v1/jobs/{job}/weights/proposal"))["proposed_weights"]

    r = await hr_server.api.post(f"/v1/jobs/{job}/weights/approve", {"approved_by": "Dana Reyes", "weights": proposed})

    assert r.status_code == 200, r.text
    approval = r.json()
    assert approval["approved_by"] == "Dana Reyes" and approval["previous_version"] == 1
    assert approval["plan"]["version"] == 2 and "approved by Dana Reyes" in approval["plan"]["note"]
    now = await _get(hr_server, f"/v1/jobs/{job}")
    assert now["plan"]["version"] == 2
    assert {d["name"]: d["weight"] for d in now["plan"]["dimensions"]} == proposed
    assert now["plan"]["questions"] == approval["plan"]["questions"]
    first = await _get(hr_server, f"/v1/jobs/{job}/plan/1")
    assert {d["name"]: d["weight"] for d in first["dimensions"]} == WEIGHTS
    for k, iid in enumerate(interviews[:3]):
        after = await _get(hr_server, f"/v1/interviews/{iid}")
        assert after["plan_version"] == 1 and after["report"] == before[iid]["report"]
        assert after["report"]["plan_version"] == 1
        assert (await hr_server.api.get(f"/v1/interviews/{iid}/reports")).json() == reports_before[k]
    async with AsyncSession(hr_server.store.engine) as s:
        logged = (await s.scalars(select(AuditRow).where(AuditRow.action == "weights_approved"))).all()
    entry = next(a.detail for a in logged if a.detail and a.detail["job_id"] == job)
    assert entry["approved_by"] == "Dana Reyes" and entry["version"] == 2 and entry["weights"] == proposed
    # A new interview runs the new version; the old proposal, approved again, is no longer the current one.
    c = (await hr_server.api.post("/v1/candidates", {"name": "After approval"})).json()["id"]
    iv = await hr_server.api.post("/v1/interviews", {"job_id": job, "candidate_id": c, "mode": "text"})
    assert iv.status_code == 201 and iv.json()["plan_version"] == 2, iv.text
    again = await hr_server.api.post(f"/v1/jobs/{job}/weights/approve", {"approved_by": "Dana", "weights": proposed})
    assert again.status_code == 409, again.text
