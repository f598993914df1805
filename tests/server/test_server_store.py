"""The store contract, run against SQLite and a real PostgreSQL (a throwaway database per test session):
the same Alembic migrations, and every call behaving the same on both.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from dialogue.plan import InterviewPlan
from dialogue.scoring import score_session
from dialogue.session import QuestionKind, Turn
from server.db.status import InterviewStatus
from server.db.store import Store, plan_from_json, plan_to_json
from server.db.tables import CandidateRow, InterviewRow, JobRow
from server.settings import Settings

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(Settings.from_env({}, api_key="k", database_url=database_url).sqlalchemy_url)
    yield opened
    await opened.close()


def plan() -> InterviewPlan:
    raw = {
        "language": "en",
        "title": "Backend engineer",
        "requirements": ["Python", "SQL"],
        "pass_threshold": 6.0,
        "dimensions": [{"name": "communication", "weight": 1.0}],
        "questions": [
            {"id": "q1", "text": "Tell me about a project you led.", "dimension": "communication"},
            {"id": "q2", "text": "How do you handle disagreement?", "dimension": "communication"},
        ],
    }
    return plan_from_json(raw)


async def interview(store: Store) -> InterviewRow:
    job = await store.add_job(
        JobRow(
            id=uuid.uuid4().hex,
            title="Backend engineer",
            description="APIs",
            requirements=["Python", "SQL"],
            language="en",
            pass_threshold=6.0,
            plan=plan_to_json(plan()),
        )
    )
    cand = await store.add_candidate(CandidateRow(id=uuid.uuid4().hex, name="Ada", email=None, resume_text=None))
    return await store.add_interview(
        InterviewRow(
            id=uuid.uuid4().hex,
            job_id=job.id,
            candidate_id=cand.id,
            mode="text",
            status="scheduled",
            candidate_token=uuid.uuid4().hex,
            observer_token=uuid.uuid4().hex,
        )
    )


def turn(seq: int, answer: str = "I led a migration of our billing service.") -> Turn:
    return Turn(seq, f"q{seq}", f"q{seq}", QuestionKind.MAIN, f"Question {seq}?", answer, None, None)


async def test_migrations_bring_an_empty_database_to_the_newest_schema(store: Store) -> None:
    async with store.engine.connect() as conn:
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert version
    # Opening again (a second server process on the same database) is a no-op, not an error.
    again = await Store.open(str(store.engine.url.render_as_string(hide_password=False)))
    await again.close()


async def test_jobs_candidates_and_interviews_round_trip(store: Store) -> None:
    row = await interview(store)
    got = await store.interview(row.id)
    assert got is not None and got.status == "scheduled" and got.mode == "text"
    job = await store.job(row.job_id)
    assert job is not None and job.requirements == ["Python", "SQL"]
    assert plan_from_json(job.plan) == plan()
    assert row.id in [i.id for i in await store.interviews(job_id=row.job_id)]
    assert await store.interview("nope") is None and await store.job("nope") is None


async def test_turns_are_stored_in_order_once_each(store: Store) -> None:
    row = await interview(store)
    for t in (turn(2), turn(1), turn(2, "a re-sent duplicate")):
        await store.add_turn(row.id, t)
    turns = await store.turns(row.id)
    assert [t.seq for t in turns] == [1, 2]
    assert turns[1].answer == "I led a migration of our billing service.", "a re-sent turn does not overwrite"
    assert turns[0].question_kind is QuestionKind.MAIN
    assert await store.turns("nope") == []


async def test_status_moves_with_its_times_and_counts(store: Store) -> None:
    row = await interview(store)
    await store.set_status(row.id, "live")
    live = await store.interview(row.id)
    assert live is not None and live.status == "live" and live.started_at is not None
    await store.set_status(row.id, "live")  # a resumed session keeps its first start time
    again = await store.interview(row.id)
    assert again is not None and again.started_at == live.started_at
    await store.set_status(row.id, "abandoned", reason="candidate_left")
    ended = await store.interview(row.id)
    assert ended is not None and ended.status == "abandoned" and ended.end_reason == "candidate_left"
    assert ended.ended_at is not None
    assert (await store.status_counts())[(row.job_id, "abandoned")] >= 1


async def test_reports_and_comments_are_kept_with_the_interview(store: Store) -> None:
    row = await interview(store)
    await store.add_turn(row.id, turn(1))
    report = await score_session(plan(), await store.turns(row.id))
    await store.save_report(row.id, report)
    got = await store.interview(row.id)
    assert got is not None and got.report is not None and got.report["overall"] == report.overall
    first = await store.add_comment(row.id, "observer", "Good structure.")
    second = await store.add_comment(row.id, "hr", "中文也可以。")
    assert second.id > first.id
    assert [(c.author, c.text) for c in await store.comments(row.id)] == [
        ("observer", "Good structure."),
        ("hr", "中文也可以。"),
    ]
    await store.audit("hr", "comment_added", row.id, comment_id=first.id)


async def test_moments_come_back_as_utc_with_an_offset_whatever_zone_they_were_given_in(store: Store) -> None:
    first = await interview(store)
    given = datetime(2026, 12, 3, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    row = await store.add_interview(
        InterviewRow(
            id=uuid.uuid4().hex,
            job_id=first.job_id,
            candidate_id=first.candidate_id,
            mode="text",
            status="scheduled",
            candidate_token=uuid.uuid4().hex,
            observer_token=uuid.uuid4().hex,
            scheduled_at=given,
        )
    )
    await store.set_status(row.id, InterviewStatus.LIVE)
    got = await store.interview(row.id)
    assert got is not None and got.scheduled_at is not None and got.started_at is not None
    assert got.scheduled_at == given  # the same moment (SQLite would otherwise keep 10:00 and drop the +08:00)
    for moment in (got.scheduled_at, got.started_at, got.created_at):
        assert moment.utcoffset() == timedelta(0), moment
