"""`GET /v1/dashboard` on a real server, SQLite and PostgreSQL: per job, interviews opened by an invitation still in
force (`invited`) and those a reviewer has yet to score (`awaiting_review`), each interview saying which it is; the
reviews due soonest first, a reviewer's and a candidate's request alike, gone once done."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hr_testkit import job_body, report
from workflow_testkit import DATABASES, WorkflowServer, workflow_server

from server.db.status import InterviewStatus
from server.interview_tokens import candidate_token


@pytest.fixture(scope="module", params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue("postgres_database")) if request.param == "postgres" else None


@pytest.fixture(scope="module")
async def site(database_url: str | None, free_port: Callable[[], int]) -> AsyncIterator[WorkflowServer]:
    async with workflow_server(WorkflowServer, database_url, free_port(), ["review.requested"]) as made:
        yield made


async def _json(site: WorkflowServer, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
    r = await site.call(method, path, body, **kwargs)
    assert r.status_code in (200, 201), r.text
    return r.json()


async def test_the_dashboard_counts_invited_and_awaiting_review_and_lists_the_reviews_due(site: WorkflowServer) -> None:
    job = (await _json(site, "POST", "/v1/jobs", job_body("Dashboard role")))["id"]
    await _json(
        site, "PUT", f"/v1/jobs/{job}/reviewers", {"reviewers": [{"name": "Ana Silva", "email": "a@x.example"}]}
    )
    people = [(await _json(site, "POST", "/v1/candidates", {"name": n}))["id"] for n in ("Kim", "Lou", "Max")]
    invited = await _json(site, "POST", "/v1/invitations", {"job_id": job, "candidate_ids": people[:2]})
    await _json(site, "POST", f"/v1/invitations/{invited['invitations'][1]['id']}/revoke")
    direct = await _json(site, "POST", "/v1/interviews", {"job_id": job, "candidate_id": people[2], "mode": "text"})

    kept = invited["invitations"][0]["interview_id"]
    for iid in (kept, direct["id"]):
        await site.store.set_status(iid, InterviewStatus.COMPLETED, reason="completed")
        await site.store.save_report(iid, report({"sql": 6.0, "design": 6.0, "communication": 6.0}))
    row = await site.store.interview(direct["id"])
    token = candidate_token(site.store.vault, row) if row is not None else None  # the server's store, its key
    await _json(site, "POST", f"/v1/interviews/{direct['id']}/recourse", hr=False, token=token)

    board = await _json(site, "GET", "/v1/dashboard")
    card = next(j for j in board["jobs"] if j["id"] == job)
    assert (card["invited"], card["awaiting_review"], card["completed"]) == (1, 2, 2)
    rows = {iv["id"]: iv for iv in card["interviews"]}
    assert (rows[kept]["invited"], rows[direct["id"]]["invited"]) == (True, False)
    assert rows[kept]["awaiting_review"] and rows[direct["id"]]["awaiting_review"]
    due = [d for d in board["reviews_due"] if d["job_id"] == job]
    assert sorted((d["reason"], d["candidate_name"]) for d in due) == [
        ("candidate_request", "Max"),
        ("report_ready", "Kim"),
        ("report_ready", "Max"),
    ]
    assert [d["due_at"] for d in due] == sorted(d["due_at"] for d in due)
    assert {d["reviewer_name"] for d in due if d["reason"] == "report_ready"} == {"Ana Silva"}

    task = next(d for d in due if d["interview_id"] == kept)
    await _json(site, "POST", f"/v1/reviews/{task['id']}/scorecard", {"recommendation": "yes"})
    board = await _json(site, "GET", "/v1/dashboard")
    card = next(j for j in board["jobs"] if j["id"] == job)
    assert card["awaiting_review"] == 1
    assert task["id"] not in [d["id"] for d in board["reviews_due"]]
