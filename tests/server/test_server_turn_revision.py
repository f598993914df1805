"""A spoken answer's revision (the turn decoded again from its whole audio) becomes the stored answer; the live words
stay beside it, a session rebuilt from the store decides on them, and the candidate is told nothing.

Real databases (SQLite, PostgreSQL) and the live session's own code path; then a real server and the real models.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from server_testkit import Api, Stream, play, read_wav, silence_until
from sqlalchemy.ext.asyncio import create_async_engine
from transport_testkit import memory_pair

from dialogue.interviewer import Interviewer, InterviewerModels
from dialogue.plan import InterviewPlan, Requisition, build_plan
from dialogue.session import AnswerFinished, AnswerRevised, InterviewSession
from server.bus import Bus, make_bus
from server.db import migrate
from server.db.store import Store, plan_to_json
from server.db.tables import CandidateRow, InterviewRow, JobRow
from server.privacy.export import gather
from server.settings import Settings
from server.stream.live import LiveInterview
from server.stream.transport import Connection

THIN = "It went fine."
FULL = (
    "It went fine: I moved our billing service to PostgreSQL, ran dual writes for two weeks and switched over on a "
    "quiet Sunday with no lost invoices."
)


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    bus = make_bus(Settings.from_env({}, api_key="k"))
    async with bus.plugin:
        yield bus


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        database = str(request.getfixturevalue("postgres_database"))
        return Settings.from_env({}, api_key="k", database_url=database).sqlalchemy_url
    return f"sqlite+aiosqlite:///{tmp_path / 'shanmian.db'}"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    engine = create_async_engine(database_url)
    await migrate.upgrade(engine)
    store = Store(engine)
    yield store
    await store.close()


def _plan() -> InterviewPlan:
    return build_plan(Requisition("Backend engineer", "", ("Python", "SQL"), "en"))


async def _interview(store: Store) -> tuple[str, str]:
    ids = uuid.uuid4().hex[:12]
    await store.add_job(JobRow(id=f"job-{ids}", title="Backend engineer", description="", requirements=["SQL"],
                               language="en", pass_threshold=6.0, plan=plan_to_json(_plan())))  # fmt: skip
    await store.add_candidate(CandidateRow(id=f"cand-{ids}", name="Ada", email=None, resume_text=None))
    await store.add_interview(InterviewRow(id=f"iv-{ids}", job_id=f"job-{ids}", candidate_id=f"cand-{ids}",
                                           mode="voice", status="scheduled", candidate_token=f"c-{ids}",
                                           observer_token=f"o-{ids}"))  # fmt: skip
    return f"iv-{ids}", f"cand-{ids}"


async def test_a_revised_answer_is_stored_beside_the_words_heard_and_a_rebuilt_session_decides_on_those(
    store: Store, bus: Bus
) -> None:
    interview_id, candidate_id = await _interview(store)
    live = LiveInterview(
        interview_id, _plan(), Interviewer(_plan(), InterviewerModels()), store=store, channels=bus.plugin,
        grace_s=60, on_end=lambda _: None,
    )  # fmt: skip
    server, candidate = memory_pair()
    try:
        await live.attach(Connection(server))
        await live.begin()
        first = await candidate.message()
        await live.submit(AnswerFinished(THIN, 1.0, 2.0))
        follow_up = await candidate.message()
        assert (first["type"], follow_up["type"], follow_up["kind"]) == ("question", "question", "follow_up")

        await live.submit(AnswerRevised(FULL, 1.0, 2.0))

        [turn] = await store.turns(interview_id)
        assert (turn.answer, turn.heard) == (FULL, THIN)
        with pytest.raises(TimeoutError):
            await candidate.message(seconds=0.5)  # nothing is asked or said to the candidate
        rebuilt = InterviewSession(_plan())
        assert rebuilt.replay([turn]).question == live.interviewer.session.current, "the same follow-up waits"
        exported = await gather(store, candidate_id)
        assert exported is not None
        assert [(t.answer, t.heard) for t in exported[0].interviews[0].turns] == [(FULL, THIN)]
    finally:
        await live.shutdown()


def _recall(reference: str, heard: str) -> float:
    """The share of the reference's words that were heard."""
    ref, got = (set(re.findall(r"[a-z']+", t.lower())) for t in (reference, heard))
    return len(ref & got) / len(ref)


def _scenario(fixtures_dir: Path) -> tuple[dict[str, Any], dict[str, bytes], dict[str, str]]:
    manifest = json.loads((fixtures_dir / "backend_en" / "manifest.json").read_text())
    job = dict(manifest["scenario"]["job"], questions=[{"text": q} for q in manifest["scenario"]["questions"]])
    pcm = {c["id"]: read_wav(fixtures_dir / "backend_en" / c["file"]) for c in manifest["clips"]}
    return job, pcm, {c["id"]: c["text"] for c in manifest["clips"]}


async def test_a_spoken_answer_with_a_thinking_pause_is_stored_as_its_revision(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    job, pcm, texts = _scenario(fixtures_dir)
    iv = await api.interview(job, mode="voice")
    stream = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    await stream.send({"type": "hello", "mode": "voice",
                       "audio": {"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1}})  # fmt: skip
    await stream.until("question")
    await play(stream.ws, pcm["q3_pause"])  # heard in two segments, either side of the pause
    await silence_until(stream, ("question",))
    heard = [m["text"] for m in stream.received if m["type"] == "turn_end"][-1]

    stored = heard
    for _ in range(100):
        [turn] = (await api.get(f"/v1/interviews/{iv['id']}")).json()["transcript"]
        stored = turn["answer"]
        if stored != heard:
            break
        await asyncio.sleep(0.2)
    assert stored != heard, "no revision was stored"
    reference = texts["q3_pause"]
    assert _recall(reference, stored) >= _recall(reference, heard), (stored, heard)
    assert not any(m["type"] == "transcript" and m["text"] == stored for m in stream.received), "not sent"
    await stream.send({"type": "end"})
    await stream.until("closed")
