"""media/recording.py: Ogg/Opus and WebM recordings read back with PyAV, the session-second timeline with gaps
filled by silence, other input formats, and write errors that stop the recording without raising into the caller.
"""

from __future__ import annotations

import errno
import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from media import recording
from media.audio_format import AudioFormat
from media.recording import (
    GAP_TOLERANCE_S,
    OPUS_RATE,
    BackgroundRecorder,
    RecordingFailed,
    RecordingSpec,
    RecordingWriter,
    is_disk_full,
    recording_suffix,
)

MONO_16K = AudioFormat(sample_rate=16000, channels=1)
CHUNK_S = 0.1


def tone(seconds: float, fmt: AudioFormat = MONO_16K, freq: float = 440.0, amplitude: int = 8000) -> bytes:
    """s16le interleaved PCM of a sine in `fmt`."""
    n = round(seconds * fmt.sample_rate)
    t = np.arange(n) / fmt.sample_rate
    wave = (np.sin(2 * np.pi * freq * t) * amplitude).astype("<i2")
    return np.repeat(wave, fmt.channels).tobytes()


def write_tone(sink: Any, start: float, seconds: float, fmt: AudioFormat = MONO_16K) -> float:
    """`seconds` of tone in CHUNK_S chunks from session second `start`, as a live connection sends it."""
    chunks = round(seconds / CHUNK_S)
    for i in range(chunks):
        sink.audio(tone(CHUNK_S, fmt), fmt, start + i * CHUNK_S)
    return start + chunks * CHUNK_S


def decoded_audio(path: Path) -> tuple[np.ndarray, int]:
    """The first audio stream of `path`, decoded to one mono float array, and its rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        chunks = [frame.to_ndarray().reshape(-1) for frame in container.decode(stream)]
    return np.concatenate(chunks), rate


def loud_windows(samples: np.ndarray, rate: int, window_s: float = 0.01) -> np.ndarray:
    """A boolean per `window_s` window: is there tone (not silence) in it?"""
    step = int(rate * window_s)
    usable = len(samples) // step * step
    level = np.abs(samples[:usable]).reshape(-1, step).mean(axis=1)
    return level > 0.02


class Failures:
    """An `on_failure` callback that remembers its calls and the thread they came from."""

    def __init__(self) -> None:
        self.calls: list[tuple[BaseException, float, str]] = []
        self.event = threading.Event()

    def __call__(self, exc: BaseException, seconds: float) -> None:
        self.calls.append((exc, seconds, threading.current_thread().name))
        self.event.set()


class FillingFile(io.RawIOBase):
    """A file on a disk that fills up after `limit` bytes: later writes raise ENOSPC, as a real full disk does."""

    def __init__(self, path: Path, limit: int) -> None:
        self._file = open(path, "wb", buffering=0)  # noqa: SIM115 - closed by close()
        self.limit = limit
        self.written = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: Any) -> int:
        if self.written + len(data) > self.limit:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.written += len(data)
        return self._file.write(data) or 0

    def close(self) -> None:
        self._file.close()
        super().close()


def filling_disk(limit: int) -> Callable[..., FillingFile]:
    def fake_open(path: Path, mode: str, buffering: int = -1) -> FillingFile:
        assert mode == "wb"
        return FillingFile(Path(path), limit)

    return fake_open


# -- audio only: Ogg/Opus on the session clock ------------------------------------------------------------


def test_audio_only_recording_is_ogg_opus_48k_mono_as_long_as_the_session_seconds_written(tmp_path: Path) -> None:
    spec = RecordingSpec(tmp_path / f"a{recording_suffix(False)}")
    writer = RecordingWriter(spec)
    end = write_tone(writer, 0.0, 2.0)
    writer.close()

    assert spec.media_type == "audio/ogg" and spec.path.suffix == ".ogg"
    assert writer.duration_s == pytest.approx(end, abs=0.01)
    with av.open(str(spec.path)) as container:
        assert container.format.name == "ogg"
        assert [s.type for s in container.streams] == ["audio"]
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus"
        assert stream.rate == OPUS_RATE and stream.channels == 1
        assert container.duration is not None
        assert container.duration / 1e6 == pytest.approx(end, abs=0.05)
    samples, rate = decoded_audio(spec.path)
    assert len(samples) / rate == pytest.approx(end, abs=0.02)


def test_reconnect_gap_is_filled_with_silence_so_later_speech_sits_at_its_session_second(tmp_path: Path) -> None:
    writer = RecordingWriter(RecordingSpec(tmp_path / "gap.ogg"))
    first_end = write_tone(writer, 0.0, 1.0)
    resumed = 2.5  # the candidate reconnected 1.5 s later
    end = write_tone(writer, resumed, 1.0)
    writer.close()

    samples, rate = decoded_audio(tmp_path / "gap.ogg")
    assert len(samples) / rate == pytest.approx(end, abs=0.02)
    assert writer.duration_s == pytest.approx(end, abs=0.01)
    loud = loud_windows(samples, rate)  # 10 ms windows
    onsets = np.flatnonzero(np.diff(loud.astype(int)) == 1) + 1
    offsets = np.flatnonzero(np.diff(loud.astype(int)) == -1) + 1
    assert loud[:95].all(), "the first second is the tone"
    assert not loud[round(first_end * 100) + 3 : round(resumed * 100) - 3].any(), "the gap is silence"
    assert len(onsets) == 1 and onsets[0] / 100 == pytest.approx(resumed, abs=0.03)
    assert len(offsets) == 1 and offsets[0] / 100 == pytest.approx(first_end, abs=0.03)


def test_audio_that_starts_late_in_the_session_is_preceded_by_silence(tmp_path: Path) -> None:
    writer = RecordingWriter(RecordingSpec(tmp_path / "late.ogg"))
    end = write_tone(writer, 1.0, 0.5)
    writer.close()

    samples, rate = decoded_audio(tmp_path / "late.ogg")
    assert len(samples) / rate == pytest.approx(end, abs=0.02)
    loud = loud_windows(samples, rate)
    assert np.argmax(loud) / 100 == pytest.approx(1.0, abs=0.03)


def test_jitter_below_the_gap_tolerance_is_not_filled_so_the_timeline_does_not_drift(tmp_path: Path) -> None:
    writer = RecordingWriter(RecordingSpec(tmp_path / "jitter.ogg"))
    late = GAP_TOLERANCE_S / 2
    for i in range(20):  # every other chunk is stamped a little late: it still follows on from the one before
        writer.audio(tone(CHUNK_S), MONO_16K, i * CHUNK_S + (late if i % 2 else 0.0))
    writer.close()

    samples, rate = decoded_audio(tmp_path / "jitter.ogg")
    assert len(samples) / rate == pytest.approx(20 * CHUNK_S, abs=0.02)


@pytest.mark.parametrize(
    "fmt",
    [
        AudioFormat(sample_rate=8000),
        AudioFormat(sample_rate=44100, channels=2),
        AudioFormat(sample_rate=48000, channels=2),
    ],
    ids=["8k-mono", "44k1-stereo", "48k-stereo"],
)
def test_other_sample_rates_and_stereo_are_recorded_as_48k_mono_of_the_same_length(
    tmp_path: Path, fmt: AudioFormat
) -> None:
    writer = RecordingWriter(RecordingSpec(tmp_path / "fmt.ogg"))
    end = write_tone(writer, 0.0, 1.0, fmt)
    writer.close()

    with av.open(str(tmp_path / "fmt.ogg")) as container:
        stream = container.streams.audio[0]
        assert stream.rate == OPUS_RATE and stream.channels == 1
    samples, rate = decoded_audio(tmp_path / "fmt.ogg")
    assert len(samples) / rate == pytest.approx(end, abs=0.02)
    assert loud_windows(samples, rate)[5:95].all()


def test_video_frames_are_ignored_in_audio_only_mode(tmp_path: Path) -> None:
    writer = RecordingWriter(RecordingSpec(tmp_path / "a.ogg"))
    writer.video(pattern_frame(0), 0.0)
    write_tone(writer, 0.0, 0.3)
    writer.close()

    with av.open(str(tmp_path / "a.ogg")) as container:
        assert [s.type for s in container.streams] == ["audio"]


def test_writer_close_twice_is_a_no_op(tmp_path: Path) -> None:
    writer = RecordingWriter(RecordingSpec(tmp_path / "twice.ogg"))
    write_tone(writer, 0.0, 0.5)
    writer.close()
    size = (tmp_path / "twice.ogg").stat().st_size
    writer.close()

    assert writer.closed
    assert (tmp_path / "twice.ogg").stat().st_size == size
    samples, rate = decoded_audio(tmp_path / "twice.ogg")
    assert len(samples) / rate == pytest.approx(0.5, abs=0.02)


# -- video: WebM with VP8 and Opus ------------------------------------------------------------------------


def pattern_frame(i: int) -> Any:
    """A 320×180 RGB frame: red left half, blue right half, a white bar that moves with `i`."""
    image = np.zeros((180, 320, 3), dtype=np.uint8)
    image[:, :160] = (255, 0, 0)
    image[:, 160:] = (0, 0, 255)
    image[80:100, (i * 10) % 300 : (i * 10) % 300 + 20] = 255
    return av.VideoFrame.from_ndarray(image, format="rgb24")


def test_video_mode_writes_webm_with_vp8_and_opus_streams_on_the_session_clock(tmp_path: Path) -> None:
    spec = RecordingSpec(tmp_path / f"v{recording_suffix(True)}", video=True, width=160, height=120)
    writer = RecordingWriter(spec)
    for i in range(15):  # 1.5 s at 10 fps, the audio in step with it
        at = i * 0.1
        writer.audio(tone(0.1), MONO_16K, at)
        writer.video(pattern_frame(i), at)
    writer.video(pattern_frame(99), 1.4)  # a frame that does not move time forward is dropped
    writer.close()

    assert spec.media_type == "video/webm" and spec.path.suffix == ".webm"
    assert writer.duration_s == pytest.approx(1.5, abs=0.01)
    with av.open(str(spec.path)) as container:
        assert container.format.name == "matroska,webm"
        assert sorted((s.type, s.codec_context.name) for s in container.streams) == [
            ("audio", "opus"),
            ("video", "vp8"),
        ]
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (160, 120)
        frames = list(container.decode(video))
    assert [round(float(f.time), 3) for f in frames] == [round(i * 0.1, 3) for i in range(15)]
    rgb = frames[0].to_ndarray(format="rgb24").astype(int)
    left, right = rgb[:, 10:70].mean(axis=(0, 1)), rgb[:, 90:150].mean(axis=(0, 1))
    assert left[0] > 180 and left[2] < 80, "the left half is still red after scaling and VP8"
    assert right[2] > 180 and right[0] < 80, "the right half is still blue"
    samples, rate = decoded_audio(spec.path)
    assert len(samples) / rate == pytest.approx(1.5, abs=0.02)


# -- the background recorder: a thread, write errors, close ------------------------------------------------


def test_background_recorder_writes_the_file_and_close_returns_the_seconds_recorded(tmp_path: Path) -> None:
    failures = Failures()
    recorder = BackgroundRecorder(RecordingSpec(tmp_path / "bg.ogg"), failures)
    end = write_tone(recorder, 0.0, 1.0)
    end = write_tone(recorder, end + 0.5, 0.5)

    seconds = recorder.close()

    assert seconds == pytest.approx(end, abs=0.01)
    assert recorder.duration_s == seconds
    assert recorder.failed is None and failures.calls == []
    samples, rate = decoded_audio(tmp_path / "bg.ogg")
    assert len(samples) / rate == pytest.approx(end, abs=0.02)


def test_background_recorder_close_twice_returns_the_same_seconds_and_leaves_the_file_alone(tmp_path: Path) -> None:
    recorder = BackgroundRecorder(RecordingSpec(tmp_path / "twice.ogg"), Failures())
    write_tone(recorder, 0.0, 0.5)
    first = recorder.close()
    size = (tmp_path / "twice.ogg").stat().st_size

    assert recorder.close() == first
    assert (tmp_path / "twice.ogg").stat().st_size == size


def test_a_few_writes_after_close_neither_raise_nor_change_the_file(tmp_path: Path) -> None:
    failures = Failures()
    recorder = BackgroundRecorder(RecordingSpec(tmp_path / "after.ogg"), failures)
    write_tone(recorder, 0.0, 0.5)
    seconds = recorder.close()
    size = (tmp_path / "after.ogg").stat().st_size

    write_tone(recorder, 0.5, 0.5)
    recorder.video(pattern_frame(0), 0.6)

    assert recorder.close() == seconds
    assert (tmp_path / "after.ogg").stat().st_size == size
    assert failures.calls == []


def test_writing_after_close_never_reports_a_failure(tmp_path: Path) -> None:
    failures = Failures()
    recorder = BackgroundRecorder(RecordingSpec(tmp_path / "late.ogg"), failures)
    write_tone(recorder, 0.0, 0.2)
    recorder.close()

    chunk = tone(0.02)
    for i in range(2100):  # a connection still delivering audio after the recording was finished
        recorder.audio(chunk, MONO_16K, 0.2 + i * 0.02)

    assert failures.calls == []
    assert recorder.failed is None


def test_disk_filling_up_mid_recording_is_reported_once_from_the_writer_thread_and_never_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "open", filling_disk(limit=6000), raising=False)
    failures = Failures()
    recorder = BackgroundRecorder(RecordingSpec(tmp_path / "full.ogg"), failures)

    at = 0.0
    while not failures.event.is_set() and at < 30.0:  # silence-free speech: ~1.5 kB/s of Opus
        at = write_tone(recorder, at, 1.0)
        failures.event.wait(0.05)
    assert failures.event.wait(5), "the disk filled up but no failure was reported"
    write_tone(recorder, at, 1.0)  # the interview goes on: later audio is dropped quietly

    seconds = recorder.close()
    assert recorder.close() == seconds

    assert len(failures.calls) == 1
    exc, recorded, thread = failures.calls[0]
    assert is_disk_full(exc) and recorder.failed is exc
    assert thread.startswith("recorder-")
    assert 0.0 < recorded <= seconds < at


def test_write_error_on_dev_full_stops_the_recording_without_raising(tmp_path: Path) -> None:
    failures = Failures()
    recorder = BackgroundRecorder(RecordingSpec(Path("/dev/full")), failures)
    write_tone(recorder, 0.0, 2.0)
    assert failures.event.wait(5)

    seconds = recorder.close()
    assert recorder.close() == seconds

    assert len(failures.calls) == 1
    assert is_disk_full(failures.calls[0][0])
    assert isinstance(recorder.failed, OSError)


def test_failure_when_close_flushes_is_reported_through_on_failure_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "open", filling_disk(limit=0), raising=False)
    failures = Failures()
    recorder = BackgroundRecorder(RecordingSpec(tmp_path / "short.ogg"), failures)
    recorder.audio(tone(0.01), MONO_16K, 0.0)  # too little to fill ffmpeg's buffer before close

    recorder.close()
    recorder.close()

    assert len(failures.calls) == 1
    assert is_disk_full(failures.calls[0][0])


def test_recording_file_that_cannot_be_created_raises_oserror_at_start_for_the_caller_to_note(tmp_path: Path) -> None:
    # server/stream/recording.py catches OSError here and notes "Not recorded"; nothing else may escape.
    (tmp_path / "a-file").write_text("")
    failures = Failures()
    for path in (tmp_path / "missing" / "x.ogg", tmp_path / "a-file" / "x.ogg"):
        with pytest.raises(OSError):
            BackgroundRecorder(RecordingSpec(path), failures)
    assert failures.calls == []


def test_recorder_that_falls_behind_the_session_gives_up_with_enobufs_instead_of_growing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stuck = threading.Event()
    real_audio = RecordingWriter.audio

    def slow_audio(self: RecordingWriter, pcm: bytes, fmt: AudioFormat, at: float) -> None:
        stuck.wait(10)  # a disk that has stopped answering
        real_audio(self, pcm, fmt, at)

    monkeypatch.setattr(RecordingWriter, "audio", slow_audio)
    failures = Failures()
    recorder = BackgroundRecorder(RecordingSpec(tmp_path / "slow.ogg"), failures)
    chunk = tone(0.02)
    for i in range(2100):
        recorder.audio(chunk, MONO_16K, i * 0.02)  # never blocks the caller

    assert len(failures.calls) == 1
    exc = failures.calls[0][0]
    assert isinstance(exc, RecordingFailed) and exc.errno == errno.ENOBUFS
    stuck.set()
    recorder.close()
    assert len(failures.calls) == 1
