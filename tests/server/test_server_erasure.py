"""The eraser on SQLite and a real PostgreSQL, with the in-memory bus: a candidate's rows in every table, the
webhook events about them and their interviews' event history go; another candidate's stay exactly as they were;
the audit entry counts what went and names no one.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from server_testkit import STORED_PLAN
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogue.report import Recommendation, Report, ScorerInfo
from dialogue.session import QuestionKind, Turn
from server.bus import Bus, BusUnavailable, channel_name, make_bus
from server.db.status import InterviewStatus
from server.db.store import Store
from server.db.tables import CandidateRow, ErasureRow, InterviewRow, JobRow, WebhookEventRow
from server.privacy.erasure import CandidateLive, CandidateNotFound, Eraser
from server.settings import Settings
from server.webhooks.outbox import WebhookOutbox

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(Settings.from_env({}, api_key="k", database_url=database_url).sqlalchemy_url)
    outbox = WebhookOutbox(opened, base_url="http://hr.example")
    opened.listeners.append(outbox)
    await outbox.add_endpoint("http://hooks.example/in", ["interview.started", "interview.completed", "report.ready"])
    yield opened
    await opened.close()


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    memory = make_bus(Settings.from_env({}, api_key="k"))
    await memory.backend.on_startup()
    yield memory
    await memory.backend.on_shutdown()


def _report() -> Report:
    return Report(
        overall=5.0, recommendation=Recommendation.HOLD, needs_human_review=False, dimensions=(), answers=(),
        strengths=(), weaknesses=(), suggestions=(), scored_by="rules", scorer=ScorerInfo("none", None, "v1"),
        pass_threshold=6.0, language="en", answered_questions=1, total_questions=1,
    )  # fmt: skip


async def candidate_with_interview(store: Store, bus: Bus, name: str, *, finish: bool = True) -> tuple[str, str]:
    key = uuid.uuid4().hex[:20]
    await store.add_job(JobRow(id=f"j{key}", title="t", description="", requirements=[], language="en",
                               pass_threshold=6.0, plan=STORED_PLAN))  # fmt: skip
    await store.add_candidate(CandidateRow(id=f"c{key}", name=name, email=f"{key}@example.org", resume_text="CV"))
    await store.add_interview(
        InterviewRow(
            id=f"i{key}",
            job_id=f"j{key}",
            candidate_id=f"c{key}",
            mode="text",
            status=InterviewStatus.SCHEDULED,
            candidate_token=uuid.uuid4().hex,
            observer_token=uuid.uuid4().hex,
            probes=[{"topic": "CV"}],
        )
    )
    iid = f"i{key}"
    await store.set_status(iid, InterviewStatus.LIVE)
    await store.add_turn(iid, Turn(1, "q1", "q1", QuestionKind.MAIN, "Question?", f"{name} answers.", 0.0, 2.0))
    await bus.backend.publish(f'{{"type": "transcript", "text": "{name}"}}'.encode(), [channel_name(iid)])
    if finish:
        await store.set_status(iid, InterviewStatus.COMPLETED, reason="completed")
        await store.save_report(iid, _report())
        await store.add_comment(iid, "hr", f"About {name}.")
        await store.audit("hr", "comment_added", iid, comment_id=1)
    return f"c{key}", iid


async def _events_naming(store: Store, ident: str) -> int:
    async with AsyncSession(store.engine) as s:
        query = select(WebhookEventRow.id).where(WebhookEventRow.body.contains(ident))
        return len((await s.scalars(query)).all())


async def test_erasing_one_candidate_takes_all_of_theirs_and_nothing_of_anyone_elses(
    store: Store, bus: Bus, tmp_path: Path
) -> None:
    gone, gone_iv = await candidate_with_interview(store, bus, "Erased Person")
    kept, kept_iv = await candidate_with_interview(store, bus, "Kept Person")
    assert await _events_naming(store, gone_iv) == 3  # started, completed, report ready
    eraser = Eraser(store, bus, tmp_path / "recordings")

    erasure = await eraser.erase(gone, "admin")

    assert erasure.who == "admin" and erasure.id.startswith("er_")
    # One delivery per event and endpoint: the session's PostgreSQL may hold other tests' endpoints too.
    assert erasure.counts["webhook_deliveries"] >= 3
    assert {k: v for k, v in erasure.counts.items() if k != "webhook_deliveries"} == {
        "candidates": 1, "resumes": 1, "resume_probes": 1, "bus_histories": 1, "recording_files": 0,
        "webhook_events": 3, "webhook_attempts": 0, "interviews": 1, "turns": 1,
        "report_versions": 1, "comments": 1, "audit_log": 2, "interview_recordings": 0,
        "performance_outcomes": 0, "candidate_demographics": 0, "invitations": 0, "mail_outbox": 0,
        "review_tasks": 0, "scorecards": 0, "share_links": 0, "offer_suggestions": 0, "training_recommendations": 0,
        "bookings": 0, "slot_seats": 0, "booking_reminders": 0, "interview_leases": 0,
    }  # fmt: skip
    assert await store.candidate(gone) is None and await store.interview(gone_iv) is None
    assert await store.turns(gone_iv) == [] and await store.report_versions(gone_iv) == []
    assert await _events_naming(store, gone_iv) == 0 and await bus.history(gone_iv) == []

    assert await store.candidate(kept) is not None and await store.interview(kept_iv) is not None
    assert [t.answer for t in await store.turns(kept_iv)] == ["Kept Person answers."]
    assert len(await store.report_versions(kept_iv)) == 1 and len(await store.comments(kept_iv)) == 1
    assert await _events_naming(store, kept_iv) == 3 and len(await bus.history(kept_iv)) == 1

    with pytest.raises(CandidateNotFound):
        await eraser.erase(gone, "admin")
    async with AsyncSession(store.engine) as s:
        stored = await s.get(ErasureRow, erasure.id)
    assert stored is not None and stored.counts == erasure.counts and "Erased" not in repr(stored.counts)


async def test_a_candidate_with_a_live_interview_is_left_whole(store: Store, bus: Bus, tmp_path: Path) -> None:
    cid, iid = await candidate_with_interview(store, bus, "Live Person", finish=False)
    with pytest.raises(CandidateLive) as refused:
        await Eraser(store, bus, tmp_path).erase(cid, "admin")
    assert refused.value.interview_ids == [iid]
    assert await store.candidate(cid) is not None and len(await store.turns(iid)) == 1
    assert len(await bus.history(iid)) == 1


async def test_a_candidate_never_interviewed_is_erased_too(store: Store, bus: Bus, tmp_path: Path) -> None:
    cid = uuid.uuid4().hex
    await store.add_candidate(CandidateRow(id=cid, name="Only A Name"))
    erasure = await Eraser(store, bus, tmp_path).erase(cid, "admin")
    assert erasure.counts["candidates"] == 1 and erasure.counts["interviews"] == 0
    assert await store.candidate(cid) is None


async def test_with_the_redis_bus_down_nothing_is_erased(
    store: Store, bus: Bus, tmp_path: Path, free_port: Callable[[], int]
) -> None:
    cid, iid = await candidate_with_interview(store, bus, "Waiting Person")
    down = make_bus(Settings.from_env({}, api_key="k", redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        with pytest.raises(BusUnavailable):
            await Eraser(store, down, tmp_path).erase(cid, "admin")
    finally:
        await down.backend.on_shutdown()
    assert await store.candidate(cid) is not None and len(await store.turns(iid)) == 1
