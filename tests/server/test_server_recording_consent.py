"""Which recording a video interview's hello starts, decided by the recording row's `video_consent` column, on SQLite
and PostgreSQL, model-free: a video consent given in the hello or over REST before joining records video (WebM); a
consent to audio only records audio (Ogg) and the report notes why.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dialogue.interviewer import Interviewer, InterviewerModels
from dialogue.plan import Requisition, build_plan
from server.bus import Bus, make_bus
from server.db.status import InterviewStatus
from server.db.store import Store
from server.db.tables import CandidateRow, InterviewRow, JobRow
from server.settings import Settings
from server.stream.live import LiveInterview
from server.stream.messages import Hello
from server.stream.recording import NO_VIDEO_CONSENT_NOTE, Recordings

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
PLAN = build_plan(Requisition("Backend engineer", "", ("Python", "SQL"), "en"))


@pytest.fixture(params=DATABASES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = str(request.getfixturevalue("postgres_database")) if request.param == "postgres" else ""
    return Settings.from_env({}, api_key="k", data_dir=tmp_path, database_url=url)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    opened = await Store.open(settings.sqlalchemy_url)
    yield opened
    await opened.close()


@pytest.fixture
async def bus(settings: Settings) -> AsyncIterator[Bus]:
    memory = make_bus(Settings.from_env({}, api_key="k"))
    async with memory.plugin:
        yield memory


@pytest.fixture
async def recordings(store: Store, settings: Settings) -> AsyncIterator[Recordings]:
    opened = Recordings(store, settings)
    yield opened
    await opened.shutdown()


async def video_interview(store: Store, bus: Bus) -> LiveInterview:
    key = uuid.uuid4().hex[:20]
    await store.add_job(JobRow(id=f"j{key}", title="t", description="", requirements=[], language="en",
                               pass_threshold=6.0, plan={}))  # fmt: skip
    await store.add_candidate(CandidateRow(id=f"c{key}", name="Video Consent", email=None, resume_text=None))
    await store.add_interview(
        InterviewRow(
            id=f"i{key}",
            job_id=f"j{key}",
            candidate_id=f"c{key}",
            mode="video",
            status=InterviewStatus.SCHEDULED,
            candidate_token=uuid.uuid4().hex,
            observer_token=uuid.uuid4().hex,
        )
    )
    return LiveInterview(f"i{key}", PLAN, Interviewer(PLAN, InterviewerModels()), store=store, channels=bus.plugin,
                         grace_s=0.2, on_end=lambda _: None)  # fmt: skip


async def test_a_video_hello_under_an_audio_only_consent_records_audio_and_notes_why(
    store: Store, bus: Bus, recordings: Recordings
) -> None:
    live = await video_interview(store, bus)
    recording = await recordings.join(live, Hello(mode="video", consent=True))

    assert recording is not None and not recording.spec.video
    row = await store.recording(live.interview_id)
    assert row is not None and (row.consent, row.video_consent, row.media_type) == (True, None, "audio/ogg")
    assert NO_VIDEO_CONSENT_NOTE in live.report_notes


@pytest.mark.parametrize("given_in", ["hello", "rest"])
async def test_video_consent_in_its_column_records_video(
    store: Store, bus: Bus, recordings: Recordings, given_in: str
) -> None:
    live = await video_interview(store, bus)
    if given_in == "rest":
        await recordings.consent(live.interview_id, "rest", True, True)
        hello = Hello(mode="video")
    else:
        hello = Hello(mode="video", consent=True, video_consent=True)
    recording = await recordings.join(live, hello)

    assert recording is not None and recording.spec.video and recording.spec.path.suffix == ".webm"
    row = await store.recording(live.interview_id)
    assert row is not None and (row.consent, row.video_consent, row.consent_source) == (True, True, given_in)
    assert row.media_type == "video/webm"
    assert NO_VIDEO_CONSENT_NOTE not in live.report_notes
