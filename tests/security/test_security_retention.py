"""Issue 14, High 5: a real `shanmian serve` process runs the retention job at start-up (recordings past their
period deleted, rows and files; newer ones kept), runs it again after a restart without deleting anything twice,
records each run in the database, and tells the candidate the recording period it enforces (`retention_days`).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from security_testkit import start_process
from sqlalchemy import update

from dialogue.plan import Requisition, build_plan
from server.db.status import InterviewStatus, RecordingStatus
from server.db.store import Store, plan_to_json
from server.db.tables import CandidateRow, InterviewRow, JobRow
from server.privacy.retention import Retention
from server.settings import Settings


async def ended_interview(store: Store, recordings: Path, *, days_ago: float) -> InterviewRow:
    """An interview that ended `days_ago`, with a complete recording (its row and file)."""
    key = uuid.uuid4().hex[:20]
    plan = plan_to_json(build_plan(Requisition("Backend engineer", "", ("Python",), "en")))
    await store.add_job(JobRow(id=f"j{key}", title="t", description="", requirements=[], language="en",
                               pass_threshold=6.0, plan=plan))  # fmt: skip
    await store.add_candidate(CandidateRow(id=f"c{key}", name="Retained Person"))
    row = InterviewRow(id=f"i{key}", job_id=f"j{key}", candidate_id=f"c{key}", mode="voice",
                       status=InterviewStatus.SCHEDULED, candidate_token=uuid.uuid4().hex,
                       observer_token=uuid.uuid4().hex)  # fmt: skip
    await store.add_interview(row)
    await store.set_status(row.id, InterviewStatus.LIVE)
    await store.set_status(row.id, InterviewStatus.COMPLETED, reason="completed")
    ended = datetime.now(UTC) - timedelta(days=days_ago)
    async with store.engine.begin() as conn:
        await conn.execute(update(InterviewRow).where(InterviewRow.id == row.id).values(ended_at=ended))
    path = _recording_file(recordings, row.id)
    await store.update_recording(row.id, consent=True, status=RecordingStatus.COMPLETE, path=str(path))
    return row


def _recording_file(recordings: Path, interview_id: str) -> Path:
    recordings.mkdir(parents=True, exist_ok=True)
    path = recordings / f"{interview_id}.ogg"
    path.write_bytes(b"OggS" + interview_id.encode())
    return path


async def _finished_runs(database_url: str) -> list[Any]:
    store = await Store.open(database_url)
    try:
        runs = await Retention(store, Settings.from_env({}, api_key="k")).runs(limit=100)
        return [r for r in runs if r.finished_at is not None]
    finally:
        await store.close()


async def _wait_for_runs(database_url: str, n: int) -> list[Any]:
    for _ in range(300):
        runs = await _finished_runs(database_url)
        if len(runs) >= n:
            return runs
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {n} retention runs recorded: {runs}")


async def test_a_server_process_runs_the_job_at_start_up_and_again_after_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    url = Settings.from_env({}, api_key="k", data_dir=data_dir).sqlalchemy_url
    data_dir.mkdir()
    store = await Store.open(url)
    try:
        recordings = data_dir / "recordings"
        old = (await ended_interview(store, recordings, days_ago=45)).id
        row = await ended_interview(store, recordings, days_ago=2)
        new = row.id
    finally:
        await store.close()

    server = await start_process(data_dir)
    try:
        [first] = await _wait_for_runs(url, 1)
        assert first.counts == {"recordings": 1, "recording_files": 1}, first
        assert not (recordings / f"{old}.ogg").exists() and (recordings / f"{new}.ogg").exists()
        async with httpx.AsyncClient(base_url=server.base) as client:
            info = await client.get(f"/join/{new}/info", params={"token": row.candidate_token})
        assert info.status_code == 200, info.text
        assert info.json()["retention_days"] == 30, "the join info says the period that is enforced"
    finally:
        await server.stop()

    server = await start_process(data_dir, SHANMIAN_RETENTION_RECORDINGS_DAYS="0")
    try:
        second, _ = await _wait_for_runs(url, 2)
        assert second.counts == {} and second.limits["recordings"] == 0, "nothing to do, and nothing done twice"
        assert (recordings / f"{new}.ogg").exists()
        async with httpx.AsyncClient(base_url=server.base) as client:
            info = await client.get(f"/join/{new}/info", params={"token": row.candidate_token})
        assert info.json()["retention_days"] is None, "0 days: kept until erased, no period to announce"
    finally:
        await server.stop()
