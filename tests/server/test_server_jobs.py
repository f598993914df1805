"""Jobs over REST: plans drafted by the packaged model (drafting, then ready), plan versions that interviews pin,
résumé probes quoting the résumé verbatim, and résumés that are not text refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from server_testkit import Api, Stream

from dialogue.plan import QuestionSpec, Requisition, build_plan
from dialogue.plan_checks import question_problem
from dialogue.plan_draft import PLAN_MODEL_NAME
from server.db.status import InterviewStatus, JobStatus
from server.db.store import Store, plan_to_json
from server.db.tables import CandidateRow, InterviewRow, JobRow
from server.settings import Settings

JAVA_ZH: dict[str, Any] = {
    "title": "Java开发工程师",
    "description": "参与支付系统后端的设计与开发。",
    "requirements": ["熟练掌握Spring Boot", "有微服务项目经验", "抗压能力强"],
    "language": "zh",
}
SALES_EN: dict[str, Any] = {
    "title": "Sales Manager",
    "requirements": ["B2B sales", "team management"],
    "dimensions": [{"name": "B2B sales", "weight": 0.6}, {"name": "team management", "weight": 0.4}],
    "questions": [
        {"text": "Tell me about the largest B2B deal you closed: how did you win it?", "dimension": "B2B sales"}
    ],
}
RESUME = """Wang Fang
Email: wang.fang@example.com  Phone: +86 138 1234 5678
Experience
2019-2023 Sales lead at Acme Logistics: grew B2B revenue from 2 million to 9 million dollars in three years.
Managed a team of six account managers and hired four of them.
"""


async def ready(api: Api, job_id: str, seconds: float = 850) -> dict[str, Any]:
    return await api.poll(f"/v1/jobs/{job_id}", lambda b: b["status"] == "ready", seconds)


async def put_plan(api: Api, job_id: str, body: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(base_url=api.base, timeout=30) as c:
        return await c.put(f"/v1/jobs/{job_id}/plan", json=body, headers={"Authorization": f"Bearer {api.key}"})


@pytest.mark.timeout(900)  # a whole plan from the 1.5B model on a shared 2-core machine
async def test_a_job_without_questions_is_drafted_by_the_model_and_then_ready(server_factory: Any) -> None:
    server = await server_factory.start(plan_model=PLAN_MODEL_NAME)
    api = Api(server.base, server.api_key)
    created = await api.post("/v1/jobs", JAVA_ZH)
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["status"] == "drafting" and job["plan"]["version"] == 0
    candidate = (await api.post("/v1/candidates", {"name": "李明"})).json()
    early = await api.post("/v1/interviews", {"job_id": job["id"], "candidate_id": candidate["id"], "mode": "text"})
    assert early.status_code == 409 and "drafted" in early.json()["error"]["message"]

    done = await ready(api, job["id"])
    plan = done["plan"]
    assert done["status"] == "ready" and plan["version"] == 1
    assert plan["source"] == "model", plan["note"]
    assert 3 <= len(plan["dimensions"]) <= 6
    assert sum(d["weight"] for d in plan["dimensions"]) == pytest.approx(1.0, abs=1e-4)
    assert all(d["reason"] for d in plan["dimensions"])
    assert all(question_problem(q["text"], "zh") is None for q in plan["questions"])
    iv = await api.post("/v1/interviews", {"job_id": job["id"], "candidate_id": candidate["id"], "mode": "text"})
    assert iv.status_code == 201 and iv.json()["plan_version"] == 1


async def test_a_plan_edit_creates_a_new_version_and_earlier_interviews_keep_theirs(server_factory: Any) -> None:
    server = await server_factory.start()
    api = Api(server.base, server.api_key)
    first = await api.interview(SALES_EN)
    job_id = first["job_id"]
    new_question = "Tell me about a time you coached a struggling account manager: what changed?"
    edited = await put_plan(api, job_id, {"questions": [{"text": new_question, "dimension": "team management"}]})
    assert edited.status_code == 200, edited.text
    assert edited.json()["plan"]["version"] == 2 and edited.json()["plan"]["source"] == "hr"
    candidate = (await api.post("/v1/candidates", {"name": "B"})).json()
    second = (
        await api.post("/v1/interviews", {"job_id": job_id, "candidate_id": candidate["id"], "mode": "text"})
    ).json()
    assert (first["plan_version"], second["plan_version"]) == (1, 2)

    # The first interview still asks version 1's question, and its report scores version 1's plan.
    stream = await Stream.open(f"{server.ws}/v1/interviews/{first['id']}/stream?token={first['candidate_token']}")
    await stream.send({"type": "hello", "mode": "text"})
    question = await stream.until("question")
    assert question["text"] == SALES_EN["questions"][0]["text"]
    await stream.send({"type": "end"})
    await stream.until("closed")
    await stream.close()
    body = await api.settled(first["id"])
    assert body["plan_version"] == 1 and body["report"]["plan_version"] == 1
    old = (await api.get(f"/v1/jobs/{job_id}/plan/1")).json()
    assert [q["text"] for q in old["questions"]] == [SALES_EN["questions"][0]["text"]]
    assert (await api.get(f"/v1/jobs/{job_id}/plan/2")).json()["questions"][0]["text"] == new_question
    assert (await api.get(f"/v1/jobs/{job_id}")).json()["plan"]["version"] == 2

    stream = await Stream.open(f"{server.ws}/v1/interviews/{second['id']}/stream?token={second['candidate_token']}")
    await stream.send({"type": "hello", "mode": "text"})
    assert (await stream.until("question"))["text"] == new_question
    await stream.close()


async def test_a_plan_edit_is_checked_like_a_new_plan(server_factory: Any) -> None:
    server = await server_factory.start()
    api = Api(server.base, server.api_key)
    job = (await api.post("/v1/jobs", SALES_EN)).json()
    bad = await put_plan(api, job["id"], {"questions": [{"text": "Why?", "dimension": "nope"}]})
    assert bad.status_code == 400 and "nope" in bad.json()["error"]["message"]
    assert (await api.get(f"/v1/jobs/{job['id']}")).json()["plan"]["version"] == 1
    assert (await api.get(f"/v1/jobs/{job['id']}/plan/7")).status_code == 404


async def test_a_job_left_drafting_by_a_stopped_server_is_finished_at_start_up(server_factory: Any) -> None:
    settings = Settings.from_env({}, api_key="k", data_dir=server_factory.data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(settings.sqlalchemy_url)
    stand_in = build_plan(Requisition("Data Analyst", "", ("SQL",), "en"))
    row = JobRow(
        id="left-drafting",
        title="Data Analyst",
        description="",
        requirements=["SQL"],
        language="en",
        pass_threshold=6.0,
        plan=plan_to_json(stand_in),
        status=JobStatus.DRAFTING,
        plan_version=0,
    )
    await store.add_job(row)
    await store.close()
    server = await server_factory.start()  # drafting off: the job gets the rule-based plan
    api = Api(server.base, server.api_key)
    job = await ready(api, row.id, 60)
    assert job["status"] == "ready" and job["plan"]["version"] == 1 and job["plan"]["source"] == "rules"


@pytest.mark.timeout(900)
async def test_resume_probes_quote_the_resume_verbatim(server_factory: Any) -> None:
    server = await server_factory.start(plan_model=PLAN_MODEL_NAME)
    api = Api(server.base, server.api_key)
    job = (await api.post("/v1/jobs", dict(SALES_EN, resume_probes=2))).json()
    candidate = (await api.post("/v1/candidates", {"name": "Wang Fang", "resume_text": RESUME})).json()
    iv = (
        await api.post("/v1/interviews", {"job_id": job["id"], "candidate_id": candidate["id"], "mode": "text"})
    ).json()
    body = await api.poll(f"/v1/interviews/{iv['id']}", lambda b: b["probes"] is not None, 850)
    probes = body["probes"]
    assert probes, "the model found nothing to probe in the résumé"
    assert len(probes) <= 2
    for probe in probes:
        assert probe["source_span"] in RESUME
        assert "Wang" not in probe["source_span"] and "@" not in probe["source_span"]
        assert probe["dimension"] in ("B2B sales", "team management")
        assert question_problem(probe["question"], "en") is None


@pytest.mark.timeout(900)
async def test_an_interview_left_without_its_resume_probes_by_a_stopped_server_gets_them_at_start_up(
    server_factory: Any,
) -> None:
    settings = Settings.from_env({}, api_key="k", data_dir=server_factory.data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(settings.sqlalchemy_url)
    plan = build_plan(
        Requisition("Sales Manager", "", ("B2B sales", "team management"), "en", questions=(QuestionSpec(
            "Tell me about the largest B2B deal you closed: how did you win it?", "B2B sales"),))
    )  # fmt: skip
    await store.add_job(
        JobRow(
            id="sales",
            title="Sales Manager",
            description="",
            requirements=["B2B sales", "team management"],
            language="en",
            pass_threshold=6.0,
            plan=plan_to_json(plan),
            status=JobStatus.READY,
            plan_version=1,
            resume_probes=1,
        )
    )
    await store.add_candidate(CandidateRow(id="wang", name="Wang Fang", resume_text=RESUME))
    for interview_id, status in (("waiting", InterviewStatus.SCHEDULED), ("over", InterviewStatus.COMPLETED)):
        await store.add_interview(
            InterviewRow(
                id=interview_id,
                job_id="sales",
                candidate_id="wang",
                mode="text",
                status=status,
                candidate_token=f"t-{interview_id}",
                observer_token=f"o-{interview_id}",
                plan_version=1,
            )
        )
    await store.close()
    server = await server_factory.start(plan_model=PLAN_MODEL_NAME)
    api = Api(server.base, server.api_key)
    body = await api.poll("/v1/interviews/waiting", lambda b: b["probes"] is not None, 850)
    assert body["probes"], "the model found nothing to probe in the résumé"
    assert all(p["source_span"] in RESUME for p in body["probes"])
    # A finished interview is not drafted for: its questions were asked already.
    assert (await api.get("/v1/interviews/over")).json()["probes"] is None


@pytest.mark.parametrize(
    ("resume", "words"),
    [("%PDF-1.7 binary stream", "plain text"), ("ok\x00\x01\x02", "control characters"), ("x" * 20001, "resume_text")],
)
async def test_a_resume_that_is_not_text_or_too_long_is_refused(api: Api, resume: str, words: str) -> None:
    r = await api.post("/v1/candidates", {"name": "A", "resume_text": resume})
    assert r.status_code == 400 and words in r.json()["error"]["message"], r.text
