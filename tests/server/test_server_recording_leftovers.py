"""Recordings a dead process left `recording` (real writer processes killed mid-speech, fixture audio, a real
SQLite store): at start-up each file is finished and playable, an ended interview's row says `complete`, a file a
live process still writes and a file on another node's disk are left alone; a session resumed here continues its
file instead of starting it over."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
import wave
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest
from transport_testkit import memory_pair

from dialogue.interviewer import Interviewer, InterviewerModels
from dialogue.plan import Requisition, build_plan
from media.audio_format import AudioFormat
from media.recording import previous_path
from server.bus import Bus, make_bus
from server.db.leases import Leases
from server.db.status import InterviewStatus, RecordingStatus
from server.db.store import Store, plan_to_json
from server.db.tables import CandidateRow, InterviewRow, JobRow
from server.runtime import Runtime
from server.services import Services
from server.settings import Settings
from server.stream.lease_sweeper import LeaseSweeper
from server.stream.live import LiveInterview
from server.stream.messages import Hello
from server.stream.recording import Recordings
from server.stream.transport import Connection

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT.parent / "shared" / "fixtures" / "interviews" / "backend_en" / "q2_strong.wav"
if not CLIP.is_file():
    CLIP = Path("/work/shared/fixtures/interviews/backend_en/q2_strong.wav")
WRITTEN_S = 10.0
PLAN = build_plan(Requisition("Backend engineer", "", ("Python", "SQL"), "en"))

# A node recording an interview: writes the clip's first seconds, then runs on (the file unfinished) until killed.
NODE = """
import sys, time, wave
from pathlib import Path
from media.audio_format import AudioFormat
from media.recording import RecordingSpec, RecordingWriter

with wave.open(sys.argv[2]) as w:
    pcm = w.readframes(round(float(sys.argv[3]) * 16000))
writer = RecordingWriter(RecordingSpec(Path(sys.argv[1])))
for i in range(0, len(pcm), 3200):
    writer.audio(pcm[i : i + 3200], AudioFormat(sample_rate=16000, channels=1), i / 32000)
print("written", flush=True)
time.sleep(600)
"""


async def recording_node(path: Path) -> asyncio.subprocess.Process:
    node = await asyncio.create_subprocess_exec(
        sys.executable, "-c", NODE, str(path), str(CLIP), str(WRITTEN_S), cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert node.stdout is not None
    assert (await asyncio.wait_for(node.stdout.readline(), 60)).strip() == b"written"
    return node


async def kill(node: asyncio.subprocess.Process) -> None:
    node.send_signal(signal.SIGKILL)
    assert await node.wait() == -signal.SIGKILL


def decoded(path: Path) -> np.ndarray:
    """The whole file's audio at 48 kHz; raises where a player would fail."""
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(container.streams.audio[0])])


def ends_its_stream(path: Path) -> bool:
    """The file's last Ogg page carries the end-of-stream flag, which only a finished writer sets."""
    data = path.read_bytes()
    last = data.rfind(b"OggS")
    return last >= 0 and bool(data[last + 5] & 0x04)


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    bus = make_bus(Settings.from_env({}, api_key="k"))
    async with bus.plugin:
        yield bus


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'shanmian.db'}")
    await opened.add_job(JobRow(id="job", title="Backend engineer", description="", requirements=["Python", "SQL"],
                                language="en", pass_threshold=6.0, plan=plan_to_json(PLAN)))  # fmt: skip
    await opened.add_candidate(CandidateRow(id="cand", name="Ada", email=None, resume_text=None))
    yield opened
    await opened.close()


async def recorded_interview(store: Store, status: str, path: Path) -> str:
    """An interview in `status` whose recording row says `recording` to `path`, as a node that died leaves it."""
    iid = f"iv-{status}-{uuid.uuid4().hex[:6]}"
    await store.add_interview(InterviewRow(id=iid, job_id="job", candidate_id="cand", mode="voice", status=status,
                                           candidate_token=f"c-{iid}", observer_token=f"o-{iid}"))  # fmt: skip
    await store.update_recording(
        iid, consent=True, consent_source="hello", status=RecordingStatus.RECORDING, path=str(path),
        media_type="audio/ogg",
    )  # fmt: skip
    return iid


async def test_leftovers_are_finished_at_start_up_and_a_live_writers_file_is_not_touched(
    tmp_path: Path, store: Store
) -> None:
    settings = Settings.from_env({}, api_key="k", data_dir=tmp_path)
    folder = settings.recordings_path
    folder.mkdir(parents=True)
    ended = await recorded_interview(store, "completed", folder / "ended.ogg")
    unended = await recorded_interview(store, "live", folder / "unended.ogg")
    held = await recorded_interview(store, "completed", folder / "held.ogg")
    elsewhere = await recorded_interview(store, "abandoned", tmp_path / "another-node" / "gone.ogg")
    for name in ("ended", "unended"):
        await kill(await recording_node(folder / f"{name}.ogg"))
    assert not ends_its_stream(folder / "ended.ogg")
    writer = await recording_node(folder / "held.ogg")
    try:
        held_bytes = (folder / "held.ogg").read_bytes()

        closed = await Recordings(store, settings).close_leftovers()

        assert sorted(closed) == sorted([ended, unended])
        assert (folder / "held.ogg").read_bytes() == held_bytes
    finally:
        await kill(writer)

    for iid, name, status in (
        (ended, "ended", RecordingStatus.COMPLETE),
        (unended, "unended", RecordingStatus.RECORDING),
    ):
        row = await store.recording(iid)
        assert row is not None and row.status == status
        # What the killed node's ffmpeg still buffered (up to about 2 s) was never on disk.
        assert row.duration_s is not None and WRITTEN_S - 3.0 <= row.duration_s <= WRITTEN_S + 0.05
        assert "finished when a server started" in (row.note or "")
        path = folder / f"{name}.ogg"
        assert ends_its_stream(path)
        assert abs(len(decoded(path)) / 48_000 - row.duration_s) < 0.05
        assert not previous_path(path).exists()
    for iid in (held, elsewhere):
        row = await store.recording(iid)
        assert row is not None and row.status == RecordingStatus.RECORDING and row.note is None
    assert not (tmp_path / "another-node").exists()


async def test_a_session_resumed_after_its_node_died_continues_the_recording(
    tmp_path: Path, store: Store, bus: Bus
) -> None:
    settings = Settings.from_env({}, api_key="k", data_dir=tmp_path)
    settings.recordings_path.mkdir(parents=True)
    path = settings.recordings_path / "resumed.ogg"
    iid = await recorded_interview(store, "live", path)
    await kill(await recording_node(path))
    recordings = Recordings(store, settings)
    assert await recordings.close_leftovers() == [iid]
    before = decoded(path)

    live = LiveInterview(iid, PLAN, Interviewer(PLAN, InterviewerModels()), store=store, channels=bus.plugin,
                         grace_s=60, on_end=lambda _: None)  # fmt: skip
    server, _ = memory_pair()
    try:
        await live.attach(Connection(server))
        recording = await recordings.join(live, Hello(mode="voice"))
        assert recording is not None and recording.spec.path == path
        with wave.open(str(CLIP)) as w:
            w.setpos(round(WRITTEN_S * 16000))
            rest = w.readframes(w.getnframes())
        for i in range(0, len(rest), 3200):  # the resumed session's clock starts at 0
            recording.audio(rest[i : i + 3200], AudioFormat(sample_rate=16000, channels=1), i / 32000)
        seconds = await recording.finish()
    finally:
        await live.shutdown()

    row = await store.recording(iid)
    assert row is not None and row.status == RecordingStatus.COMPLETE and row.note is None
    expected = len(before) / 48_000 + len(rest) / 32000
    assert abs(seconds - expected) < 0.1 and row.duration_s == round(seconds, 3)
    after = decoded(path)
    assert abs(len(after) / 48_000 - expected) < 0.1
    assert np.array_equal(after[: len(before)], before), "the recording was started over, not continued"
    assert ends_its_stream(path) and not previous_path(path).exists()


async def test_a_node_starting_finishes_the_recording_its_previous_process_left(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {}, api_key="k", data_dir=tmp_path, voice=False, llm_backend="none", plan_model="none"
    )  # fmt: skip
    settings.recordings_path.mkdir(parents=True)
    path = settings.recordings_path / "before-restart.ogg"
    previous_process = await Store.open(settings.sqlalchemy_url)
    try:
        await previous_process.add_job(JobRow(id="job", title="Backend engineer", description="",
                                              requirements=["Python"], language="en", pass_threshold=6.0,
                                              plan=plan_to_json(PLAN)))  # fmt: skip
        await previous_process.add_candidate(CandidateRow(id="cand", name="Ada", email=None, resume_text=None))
        iid = await recorded_interview(previous_process, "abandoned", path)
    finally:
        await previous_process.close()
    await kill(await recording_node(path))
    assert not ends_its_stream(path)

    services = Services(settings, make_bus(settings), Runtime(settings))
    await services.start()
    try:
        row = await services.store.recording(iid)
    finally:
        await services.stop()
    assert row is not None and row.status == RecordingStatus.COMPLETE and row.duration_s
    assert ends_its_stream(path) and abs(len(decoded(path)) / 48_000 - row.duration_s) < 0.05


async def test_the_lease_sweeper_finishes_the_recording_of_an_interview_it_resolves(
    tmp_path: Path, store: Store, bus: Bus
) -> None:
    settings = Settings.from_env({}, api_key="k", data_dir=tmp_path)
    settings.recordings_path.mkdir(parents=True)
    path = settings.recordings_path / "swept.ogg"
    iid = await recorded_interview(store, "live", path)
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    await Leases(store.engine, 15, node="dead", clock=lambda: now).take(iid)
    await kill(await recording_node(path))  # the node recording it died with it
    later = now + timedelta(seconds=15 + 60 + 1)
    recordings = Recordings(store, settings)
    sweeper = LeaseSweeper(Leases(store.engine, 15, node="alive", clock=lambda: later), store, bus, grace_s=60,
                           on_resolved=recordings.close_leftovers)  # fmt: skip

    assert await sweeper.sweep() == [iid]

    interview = await store.interview(iid)
    assert interview is not None and interview.status == InterviewStatus.ABANDONED
    row = await store.recording(iid)
    assert row is not None and row.status == RecordingStatus.COMPLETE
    assert row.duration_s is not None and WRITTEN_S - 3.0 <= row.duration_s <= WRITTEN_S + 0.05
    assert ends_its_stream(path) and abs(len(decoded(path)) / 48_000 - row.duration_s) < 0.05
