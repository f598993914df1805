"""The retention job, on SQLite and a real PostgreSQL: each data class is deleted once its period after the
interview's end is over (recordings: rows and files), newer data and a recording still being written are kept, a
second run deletes nothing, each run is recorded, the job repeats at its interval, and two nodes running it at
once delete each recording (row and file) exactly once between them. A real server process
running it: tests/security/test_security_retention.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from server_testkit import STORED_PLAN
from sqlalchemy import func, select, update

from dialogue.report import Recommendation, Report, ScorerInfo
from dialogue.session import QuestionKind, Turn
from server.db.status import InterviewStatus, RecordingStatus
from server.db.store import Store
from server.db.tables import CandidateRow, InterviewRow, JobRow, RecordingRow
from server.privacy.retention import Retention
from server.settings import Settings, SettingsError

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
NOW = datetime.now(UTC)


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return f"sqlite:///{tmp_path / 'store.db'}"


def settings_for(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    return Settings.from_env({}, api_key="k", database_url=database_url, data_dir=data_dir, **overrides)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(Settings.from_env({}, api_key="k", database_url=database_url).sqlalchemy_url)
    yield opened
    await opened.close()


def _report() -> Report:
    return Report(
        overall=5.0, recommendation=Recommendation.HOLD, needs_human_review=False, dimensions=(), answers=(),
        strengths=(), weaknesses=(), suggestions=(), scored_by="rules", scorer=ScorerInfo("none", None, "v1"),
        pass_threshold=6.0, language="en", answered_questions=1, total_questions=1,
    )  # fmt: skip


async def ended_interview(
    store: Store, recordings: Path, *, days_ago: float | None, recording: RecordingStatus | None = None
) -> str:
    """An interview that ended `days_ago` (None: never ended) with a turn, a report, a comment and, if asked, a
    recording row and its file."""
    suffix = uuid.uuid4().hex
    job = JobRow(id=f"j{suffix[:20]}", title="t", description="", requirements=[], language="en",
                 pass_threshold=6.0, plan=STORED_PLAN)  # fmt: skip
    await store.add_job(job)
    await store.add_candidate(CandidateRow(id=f"c{suffix[:20]}", name="Retained Person"))
    iid = f"i{suffix[:20]}"
    await store.add_interview(
        InterviewRow(
            id=iid,
            job_id=job.id,
            candidate_id=f"c{suffix[:20]}",
            mode="voice",
            status=InterviewStatus.SCHEDULED,
            candidate_token=uuid.uuid4().hex,
            observer_token=uuid.uuid4().hex,
        )
    )
    await store.add_turn(iid, Turn(1, "q1", "q1", QuestionKind.MAIN, "Question?", "My answer.", 0.0, 2.0))
    await store.save_report(iid, _report())
    await store.add_comment(iid, "hr", "A note.")
    if days_ago is not None:
        await store.set_status(iid, InterviewStatus.LIVE)
        await store.set_status(iid, InterviewStatus.COMPLETED, reason="completed")
        async with store.engine.begin() as conn:  # back-dated: the interview ended `days_ago`
            ended = NOW - timedelta(days=days_ago)
            await conn.execute(update(InterviewRow).where(InterviewRow.id == iid).values(ended_at=ended))
    if recording is not None:
        path = _recording_file(recordings, iid)
        await store.update_recording(iid, consent=True, status=recording, path=str(path), media_type="audio/ogg")
    return iid


def _recording_file(recordings: Path, interview_id: str) -> Path:
    recordings.mkdir(parents=True, exist_ok=True)
    path = recordings / f"{interview_id}.ogg"
    path.write_bytes(b"OggS" + interview_id.encode())
    return path


async def test_each_data_class_goes_after_its_period_and_a_second_run_deletes_nothing(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(
        database_url, tmp_path, retention_recordings_days=30, retention_transcripts_days=90,
        retention_reports_days=365,
    )  # fmt: skip
    recordings = settings.recordings_path
    old_recording = await ended_interview(store, recordings, days_ago=31, recording=RecordingStatus.COMPLETE)
    new_recording = await ended_interview(store, recordings, days_ago=29, recording=RecordingStatus.COMPLETE)
    still_writing = await ended_interview(store, recordings, days_ago=40, recording=RecordingStatus.RECORDING)
    old_transcript = await ended_interview(store, recordings, days_ago=91)
    old_report = await ended_interview(store, recordings, days_ago=366)
    never_ended = await ended_interview(store, recordings, days_ago=None)

    ticks = iter(range(1_000_000))
    # A clock that moves (by a millisecond a reading), so that the second run is the newer one.
    job = Retention(store, settings, clock=lambda: NOW + timedelta(milliseconds=next(ticks)), node="test-node")
    first = await job.run()

    assert await store.recording(old_recording) is None
    assert not (recordings / f"{old_recording}.ogg").exists()
    for kept in (new_recording, still_writing):
        assert await store.recording(kept) is not None and (recordings / f"{kept}.ogg").exists()
    assert await store.turns(old_transcript) == [] and await store.turns(old_report) == []
    assert len(await store.turns(new_recording)) == 1 and len(await store.turns(never_ended)) == 1
    for gone in (old_report,):
        row = await store.interview(gone)
        assert row is not None and row.report is None, "the interview stays, its report goes"
        assert await store.report_versions(gone) == [] and await store.comments(gone) == []
    for kept in (old_transcript, never_ended):
        row = await store.interview(kept)
        assert row is not None and row.report is not None and len(await store.report_versions(kept)) == 1
        assert len(await store.comments(kept)) == 1
    assert first.counts is not None and first.error is None and first.finished_at is not None
    assert first.counts["recordings"] >= 1 and first.counts["recording_files"] >= 1
    assert first.counts["turns"] >= 2 and first.counts["report_versions"] >= 1 and first.counts["comments"] >= 1
    assert first.limits == {"recordings": 30, "transcripts": 90, "reports": 365}

    second = await job.run()
    assert second.counts is not None and not any(second.counts.values()), second.counts
    assert (recordings / f"{new_recording}.ogg").exists()
    # Newest first; the database may hold other tests' runs too.
    runs = {r.id: (k, r) for k, r in enumerate(await job.runs())}
    assert runs[second.id][0] < runs[first.id][0]
    assert runs[second.id][1].node == runs[first.id][1].node == "test-node"


async def test_zero_days_keeps_a_data_class_and_the_job_repeats_at_its_interval(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(database_url, tmp_path, retention_recordings_days=0, retention_interval_s=0.05)
    old = await ended_interview(store, settings.recordings_path, days_ago=3650, recording=RecordingStatus.COMPLETE)
    job = Retention(store, settings, node=f"repeat-{uuid.uuid4().hex[:8]}")
    job.start()
    try:
        for _ in range(200):
            mine = [r for r in await job.runs(limit=100) if r.node == job.node and r.finished_at is not None]
            if len(mine) >= 3:
                break
            await asyncio.sleep(0.05)
    finally:
        await job.aclose()
    assert len(mine) >= 3, "runs at start and then every interval"
    assert await store.recording(old) is not None and len(await store.turns(old)) == 1, "0 days: kept"


def test_retention_settings_refuse_negative_days_and_a_zero_interval() -> None:
    with pytest.raises(SettingsError, match="SHANMIAN_RETENTION_RECORDINGS_DAYS"):
        Settings.from_env({"SHANMIAN_RETENTION_RECORDINGS_DAYS": "-1"}, api_key="k")
    with pytest.raises(SettingsError, match="SHANMIAN_RETENTION_INTERVAL_S"):
        Settings.from_env({"SHANMIAN_RETENTION_INTERVAL_S": "0"}, api_key="k")
    defaults = Settings.from_env({}, api_key="k")
    assert (defaults.retention_recordings_days, defaults.retention_transcripts_days) == (30, 0)
    assert (defaults.retention_reports_days, defaults.retention_interval_s) == (0, 86_400.0)


async def _recordings_due(store: Store, days: int) -> int:
    query = (
        select(func.count())
        .select_from(RecordingRow)
        .join(InterviewRow, InterviewRow.id == RecordingRow.interview_id)
        .where(RecordingRow.status != RecordingStatus.RECORDING, InterviewRow.ended_at < NOW - timedelta(days=days))
    )
    async with store.engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def test_two_nodes_running_at_once_delete_each_recording_once(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(database_url, tmp_path, retention_recordings_days=30)
    due = [
        await ended_interview(store, settings.recordings_path, days_ago=60, recording=RecordingStatus.COMPLETE)
        for _ in range(4)
    ]
    expected = await _recordings_due(store, days=30)  # mine, and any an earlier test of the session left due
    assert expected >= len(due)
    other_node = await Store.open(store.engine.url.render_as_string(hide_password=False))
    try:
        runs = await asyncio.gather(
            Retention(store, settings, clock=lambda: NOW, node="node-a").run(),
            Retention(other_node, settings, clock=lambda: NOW, node="node-b").run(),
        )
    finally:
        await other_node.close()
    assert all(r.error is None and r.counts is not None for r in runs)
    assert sum(r.counts["recordings"] for r in runs if r.counts) == expected, "each row deleted by one node"
    assert sum(r.counts["recording_files"] for r in runs if r.counts) == expected, "each file deleted by one node"
    for iid in due:
        assert await store.recording(iid) is None and not (settings.recordings_path / f"{iid}.ogg").exists()
