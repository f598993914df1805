"""The REST API of PROTOCOL.md section 1 against a real server: happy paths, auth, and every kind of bad body."""

from __future__ import annotations

from typing import Any

import pytest
from server_testkit import Api

JOB = {
    "title": "Backend Engineer (Java)",
    "description": "Build and run the payment platform's Java services.",
    "requirements": ["Spring Boot", "microservices", "works well under pressure"],
    "language": "en",
}


def assert_error(response: Any, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    for word in words:
        assert word in error["message"], error["message"]
    assert "Traceback" not in response.text


async def test_job_without_plan_gets_dimensions_from_requirements_and_generated_questions(api: Api) -> None:
    r = await api.post("/v1/jobs", JOB)
    assert r.status_code == 201, r.text
    plan = r.json()["plan"]
    names = [d["name"] for d in plan["dimensions"]]
    assert names[:3] == JOB["requirements"] and "communication" in names
    assert sum(d["weight"] for d in plan["dimensions"]) == pytest.approx(1.0)
    assert len(plan["questions"]) >= 3
    assert all(q["dimension"] in names and q["text"].endswith("?") for q in plan["questions"])


async def test_job_questions_given_are_asked_as_written_in_order(api: Api) -> None:
    questions = [{"text": "What is your favourite design pattern?"}, {"text": "Why this team?", "dimension": "fit"}]
    body = dict(
        JOB, dimensions=[{"name": "design", "weight": 0.7}, {"name": "fit", "weight": 0.3}], questions=questions
    )
    r = await api.post("/v1/jobs", body)
    assert r.status_code == 201, r.text
    plan = r.json()["plan"]
    assert [q["text"] for q in plan["questions"]] == [q["text"] for q in questions]
    assert [q["id"] for q in plan["questions"]] == ["q1", "q2"]
    assert plan["questions"][1]["dimension"] == "fit"
    assert (await api.get(f"/v1/jobs/{r.json()['id']}")).json()["plan"] == plan


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"description": "no title"}, ["title"]),
        (dict(JOB, title=42), ["title"]),
        (dict(JOB, requirements="Spring Boot"), ["requirements"]),
        (dict(JOB, language="fr"), ["language"]),
        (dict(JOB, dimensions=[{"name": "a", "weight": 0.5}, {"name": "b", "weight": 0.2}]), ["sum to 1"]),
        (dict(JOB, dimensions=[{"name": "a", "weight": -1.0}, {"name": "b", "weight": 2.0}]), ["positive"]),
        (dict(JOB, dimensions=[]), ["dimensions is empty"]),
        (dict(JOB, questions=[]), ["questions is empty"]),
        (dict(JOB, questions=[{"text": "Why?", "dimension": "nope"}]), ["nope"]),
        (dict(JOB, pass_threshold=11), ["pass_threshold"]),
    ],
    ids=[
        "missing-title",
        "title-not-str",
        "requirements-not-list",
        "bad-language",
        "weights-not-1",
        "negative-weight",
        "empty-dimensions",
        "empty-questions",
        "unknown-dimension",
        "threshold-out-of-range",
    ],
)
async def test_bad_job_bodies_get_400_naming_the_problem(api: Api, body: dict[str, Any], words: list[str]) -> None:
    assert_error(await api.post("/v1/jobs", body), 400, "bad_request", *words)


async def test_non_json_body_gets_400(live_server: Any) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=live_server.base) as c:
        r = await c.post("/v1/jobs", content=b"{not json", headers={"Authorization": f"Bearer {live_server.api_key}"})
    assert_error(r, 400, "bad_request")


async def test_hr_calls_need_the_api_key(api: Api) -> None:
    assert_error(await api.post("/v1/jobs", JOB, auth=False), 401, "unauthorized", "Bearer")
    wrong = Api(api.base, "not-the-key")
    assert_error(await wrong.post("/v1/jobs", JOB), 401, "unauthorized", "not valid")
    assert_error(await wrong.get("/v1/interviews/whatever"), 401, "unauthorized")


async def test_candidate_and_interview_round_trip(api: Api) -> None:
    iv = await api.interview(JOB, mode="text")
    assert iv["status"] == "scheduled" and iv["candidate_token"] and iv["observer_token"]
    assert iv["join_url"].startswith(api.base) and iv["id"] in iv["join_url"]
    r = await api.get(f"/v1/interviews/{iv['id']}")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "scheduled" and body["transcript"] == [] and body["report"] is None


async def test_interview_for_unknown_job_or_candidate_is_refused(api: Api) -> None:
    c = (await api.post("/v1/candidates", {"name": "A"})).json()
    assert_error(
        await api.post("/v1/interviews", {"job_id": "nope", "candidate_id": c["id"]}),
        400,
        "bad_request",
        "POST /v1/jobs",
    )
    j = (await api.post("/v1/jobs", JOB)).json()
    assert_error(
        await api.post("/v1/interviews", {"job_id": j["id"], "candidate_id": "nope"}),
        400,
        "bad_request",
        "POST /v1/candidates",
    )
    assert_error(
        await api.post("/v1/interviews", {"job_id": j["id"], "candidate_id": c["id"], "mode": "fax"}),
        400,
        "bad_request",
        "mode",
    )


async def test_candidate_body_errors(api: Api) -> None:
    assert_error(await api.post("/v1/candidates", {}), 400, "bad_request", "name")
    assert_error(await api.post("/v1/candidates", {"name": ""}), 400, "bad_request", "name")


async def test_unknown_ids_get_404(api: Api) -> None:
    assert_error(await api.get("/v1/interviews/nope"), 404, "not_found", "nope")
    assert_error(await api.get("/v1/jobs/nope"), 404, "not_found")
    assert_error(await api.get("/v1/candidates/nope"), 404, "not_found")
    assert_error(await api.get("/v1/nothing-here"), 404, "not_found")


async def test_report_before_the_interview_ends_is_404_and_needs_a_token(api: Api) -> None:
    iv = await api.interview(JOB, mode="text")
    assert_error(await api.get(f"/v1/interviews/{iv['id']}/report"), 404, "not_found", "scheduled")
    assert_error(await api.get(f"/v1/interviews/{iv['id']}/report", auth=False), 401, "unauthorized")
    assert_error(
        await api.get(f"/v1/interviews/{iv['id']}/report", auth=False, token=iv["observer_token"]), 401, "unauthorized"
    )
    r = await api.get(f"/v1/interviews/{iv['id']}/report", auth=False, token=iv["candidate_token"])
    assert_error(r, 404, "not_found")


async def test_report_of_an_unknown_interview_does_not_reveal_whether_it_exists(api: Api) -> None:
    assert_error(await api.get("/v1/interviews/nope/report", auth=False, token="guess"), 401, "unauthorized")
    assert_error(await api.get("/v1/interviews/nope/report"), 404, "not_found")


async def test_openapi_schema_is_served(api: Api) -> None:
    r = await api.get("/schema/openapi.json", auth=False)
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/v1/jobs" in paths and "/v1/interviews/{interview_id}/report" in paths


async def test_health_reports_models_to_the_hr_key_only(api: Api) -> None:
    r = await api.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert any("LLM" in m for m in r.json()["models"])
    assert (await api.get("/health", auth=False)).json() == {"status": "ok"}
