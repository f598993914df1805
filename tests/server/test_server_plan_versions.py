"""Plan versions in the store, on SQLite and a real PostgreSQL: versions are added, never rewritten; interviews
read the version they were scheduled with; migration 0003 turns every existing job's plan into its version 1 (and
its downgrade runs)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from dialogue.plan import InterviewPlan, QuestionSpec, Requisition, build_plan
from dialogue.resume_probes import ResumeProbe, probes_to_json
from server.db.migrate import alembic_config
from server.db.status import JobStatus
from server.db.store import Store, plan_to_json
from server.db.tables import CandidateRow, InterviewRow, JobRow
from server.settings import Settings

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return f"sqlite:///{tmp_path / 'store.db'}"


def url_of(database_url: str) -> str:
    return Settings.from_env({}, api_key="k", database_url=database_url).sqlalchemy_url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(url_of(database_url))
    yield opened
    await opened.close()


def plan(question: str) -> InterviewPlan:
    return build_plan(Requisition("Backend engineer", "", ("Python",), "en", questions=(QuestionSpec(question),)))


async def scheduled(store: Store, job: JobRow) -> InterviewRow:
    candidate = await store.add_candidate(CandidateRow(id=uuid.uuid4().hex, name="Ada", email=None, resume_text=None))
    return await store.add_interview(
        InterviewRow(
            id=uuid.uuid4().hex,
            job_id=job.id,
            candidate_id=candidate.id,
            mode="text",
            status="scheduled",
            candidate_token=uuid.uuid4().hex,
            observer_token=uuid.uuid4().hex,
            plan_version=job.plan_version,
        )
    )


def job_row(first: str, **values: object) -> JobRow:
    return JobRow(
        id=uuid.uuid4().hex,
        title="Backend engineer",
        description="",
        requirements=["Python"],
        language="en",
        pass_threshold=6.0,
        plan=plan_to_json(plan(first)),
        **values,
    )


async def test_an_edit_adds_a_version_and_interviews_keep_the_one_they_were_scheduled_with(store: Store) -> None:
    job = await store.add_job(job_row("Tell me about a Python service you built?"))
    before = await scheduled(store, job)
    version = await store.set_job_plan(job.id, plan("How do you test Python code?"), source="hr")
    assert version == 2
    current = await store.job(job.id)
    assert current is not None and current.plan_version == 2
    after = await scheduled(store, current)
    old = await store.interview_plan(before)
    new = await store.interview_plan(after)
    assert old is not None and old.questions[0].text == "Tell me about a Python service you built?"
    assert new is not None and new.questions[0].text == "How do you test Python code?"
    assert [(v.version, v.source) for v in await store.plan_versions(job.id)] == [(1, "hr"), (2, "hr")]


async def test_a_drafting_job_has_no_version_until_its_draft_is_stored(store: Store) -> None:
    job = await store.add_job(job_row("Stand-in?", status=JobStatus.DRAFTING, plan_version=0))
    assert await store.plan_versions(job.id) == []
    assert await store.set_job_plan(job.id, plan("Drafted?"), source="model", note="drafted by m in 1 s") == 1
    ready = await store.job(job.id)
    assert ready is not None and ready.status == JobStatus.READY and ready.plan_version == 1
    stored = await store.plan_version(job.id, 1)
    assert stored is not None and stored.note == "drafted by m in 1 s"


async def test_an_interviews_plan_carries_its_resume_probes(store: Store) -> None:
    job = await store.add_job(job_row("Tell me about a Python service you built?"))
    row = await scheduled(store, job)
    probe = ResumeProbe("Python", "How did you cut the latency of the Django API by half?", "Django API")
    await store.set_probes(row.id, probes_to_json([probe]))
    stored = await store.interview(row.id)
    assert stored is not None
    got = await store.interview_plan(stored)
    assert got is not None and [q.id for q in got.questions] == ["q1", "r1"]
    assert got.questions[1].source_span == "Django API"


async def test_migration_0003_makes_each_existing_plan_its_version_1(database_url: str) -> None:
    engine = create_async_engine(url_of(database_url))
    try:
        async with engine.begin() as conn:
            # From 0002 whatever the database holds (the session's PostgreSQL is already at the newest schema).
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0002"))
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0002"))
            await conn.execute(
                text(
                    "INSERT INTO jobs (id, title, description, requirements, language, pass_threshold, plan) "
                    "VALUES ('j1', 'Old job', '', '[]', 'en', 6.0, '{\"questions\": []}')"
                )
            )
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
            rows = (
                await conn.execute(text("SELECT job_id, version, source FROM plan_versions WHERE job_id = 'j1'"))
            ).all()
            job = (await conn.execute(text("SELECT status, plan_version FROM jobs WHERE id = 'j1'"))).one()
        assert [tuple(r) for r in rows] == [("j1", 1, "migrated")]
        assert tuple(job) == ("ready", 1)
    finally:
        await engine.dispose()
