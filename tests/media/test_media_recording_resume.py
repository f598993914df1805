"""media/recording.py after a crash, with real speech from the fixtures and real processes killed mid-recording:
a file its dead writer left is finished into a valid, playable container (every Ogg page's checksum right, the last
one marked end of stream) holding what was written, a live writer's file is never touched, and a recording resumed
by another process keeps the earlier speech, bit for bit, and appends the new speech after it."""

from __future__ import annotations

import signal
import subprocess
import sys
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from media.audio_format import AudioFormat
from media.recording import (
    RecordingBusy,
    RecordingSpec,
    RecordingWriter,
    finish_leftover,
    previous_path,
)

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "interviews" / "backend_en"
if not FIXTURES.is_dir():
    FIXTURES = Path("/work/shared/fixtures/interviews/backend_en")
ROOT = Path(__file__).resolve().parents[2]
MONO_16K = AudioFormat(sample_rate=16000, channels=1)
CHUNK = 1600  # samples: 0.1 s, as a connection delivers it
WRITTEN_S = 12.0  # what the process that dies wrote before it was killed

# A node recording `seconds` of a clip from `start`, still running (the file unfinished) until it is killed. With
# "append" it continues the file instead, on a clock starting at 0 as a resumed session's does; with "video" it
# records WebM with a camera's frames (10 a second) beside the speech.
WRITER = """
import sys, time, wave
from pathlib import Path
import av, numpy as np
from media.audio_format import AudioFormat
from media.recording import RecordingSpec, RecordingWriter

path, clip, start, seconds = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
with wave.open(clip) as w:
    pcm = w.readframes(w.getnframes())
pcm = pcm[round(start * 16000) * 2 : round((start + seconds) * 16000) * 2]
video = "video" in sys.argv[5:]
writer = RecordingWriter(RecordingSpec(path, video=video, append="append" in sys.argv[5:]))
writer.copy_previous()
for i in range(0, len(pcm), 3200):
    writer.audio(pcm[i : i + 3200], AudioFormat(sample_rate=16000, channels=1), i / 32000)
    if video:
        image = np.full((240, 320, 3), (i // 3200) % 256, dtype=np.uint8)
        writer.video(av.VideoFrame.from_ndarray(image, format="rgb24"), i / 32000)
print("written", flush=True)
time.sleep(600)
"""


def clip_pcm(name: str = "q1_strong") -> bytes:
    with wave.open(str(FIXTURES / f"{name}.wav")) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1
        return w.readframes(w.getnframes())


class Writer:
    """A real process writing a recording; killed (SIGKILL, nothing flushed or closed) when the test says."""

    def __init__(self, path: Path, start: float, seconds: float, append: bool = False, video: bool = False) -> None:
        args = [str(path), str(FIXTURES / "q1_strong.wav"), str(start), str(seconds)]
        args += ["append"] * append + ["video"] * video
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.strip() == b"written", self.proc.stderr.read().decode() if self.proc.stderr else line

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(30) == -signal.SIGKILL


def ogg_pages(data: bytes) -> list[tuple[int, bool]]:
    """Each Ogg page of `data` as (header type flags, checksum right), read by the format's own rules."""
    pages, at = [], 0
    while at < len(data):
        assert data[at : at + 4] == b"OggS", f"no page starts at byte {at}"
        segments = data[at + 26]
        table = data[at + 27 : at + 27 + segments]
        size = 27 + segments + sum(table)
        page = bytearray(data[at : at + size])
        stored = int.from_bytes(page[22:26], "little")
        page[22:26] = b"\0\0\0\0"
        pages.append((data[at + 5], len(page) == size and _ogg_crc(bytes(page)) == stored))
        at += size
    return pages


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def decoded(path: Path) -> np.ndarray:
    """Every sample of the file's audio, decoded at 48 kHz mono; raises if any part of the file cannot be read."""
    with av.open(str(path)) as container:
        frames = [f.to_ndarray().reshape(-1) for f in container.decode(container.streams.audio[0])]
    return np.concatenate(frames).astype(np.float64)


def video_times(path: Path) -> list[float]:
    """When each decoded video frame of the file is shown, in seconds; raises if any part cannot be read."""
    with av.open(str(path)) as container:
        times = [frame.time for frame in container.decode(video=0)]
    assert None not in times
    return [float(t) for t in times if t is not None]


def readable(path: Path) -> np.ndarray:
    """What a player gets out of a file cut off mid-page: the samples up to where decoding fails."""
    out = []
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(container.streams.audio[0]):
                out.append(frame.to_ndarray().reshape(-1))
    except (av.error.FFmpegError, EOFError):
        pass
    return np.concatenate(out).astype(np.float64)


def envelope(samples: np.ndarray, rate: int, window_s: float = 0.05) -> np.ndarray:
    n = int(rate * window_s)
    usable = len(samples) // n * n
    return np.sqrt((samples[:usable].reshape(-1, n) ** 2).mean(axis=1))


def same_speech(recorded: np.ndarray, original_pcm: bytes) -> float:
    """The correlation of the loudness over time of `recorded` (48 kHz) and the original 16 kHz speech."""
    original = np.frombuffer(original_pcm, dtype="<i2").astype(np.float64)
    a, b = envelope(recorded, 48_000), envelope(original, 16_000)
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


def test_a_file_left_by_a_killed_writer_is_finished_valid_and_playable(tmp_path: Path) -> None:
    path = tmp_path / "iv.ogg"
    writer = Writer(path, 0.0, WRITTEN_S)
    try:
        with pytest.raises(RecordingBusy):
            finish_leftover(RecordingSpec(path))  # its writer is alive: not a leftover
    finally:
        writer.kill()
    left = path.read_bytes()
    assert not any(flags & 0x04 for flags, _ in ogg_pages_tolerant(left)), "a killed writer cannot end the stream"

    seconds = finish_leftover(RecordingSpec(path))

    # What reached the disk before the kill: ffmpeg still held the rest (its open page, up to a second, and its
    # 4 KiB write buffer, about another second of speech).
    assert WRITTEN_S - 3.0 <= seconds <= WRITTEN_S + 0.05
    pages = ogg_pages(path.read_bytes())
    assert all(ok for _, ok in pages), "a page's checksum is wrong"
    assert [i for i, (flags, _) in enumerate(pages) if flags & 0x04] == [len(pages) - 1]  # one end of stream, last
    audio = decoded(path)
    assert abs(len(audio) / 48_000 - seconds) < 0.05
    as_left = readable_of(left, tmp_path)
    assert np.array_equal(audio[: len(as_left)], as_left), "finishing changed what was recorded"
    assert same_speech(audio, clip_pcm()[: round(seconds * 16000) * 2]) > 0.95
    assert not previous_path(path).exists()


def ogg_pages_tolerant(data: bytes) -> list[tuple[int, bool]]:
    """The complete pages of a file whose last page may be cut off."""
    pages, at = [], 0
    while at + 27 <= len(data) and data[at : at + 4] == b"OggS":
        segments = data[at + 26]
        size = 27 + segments + sum(data[at + 27 : at + 27 + segments])
        if at + size > len(data):
            break
        pages.extend(ogg_pages(data[at : at + size]))
        at += size
    return pages


def readable_of(data: bytes, folder: Path) -> np.ndarray:
    copy = folder / "as-left.ogg"
    copy.write_bytes(data)
    return readable(copy)


def test_a_resumed_recording_keeps_the_earlier_speech_and_appends_the_new(tmp_path: Path) -> None:
    path = tmp_path / "iv.ogg"
    pcm = clip_pcm()
    first = Writer(path, 0.0, WRITTEN_S)
    first.kill()
    before = readable_of(path.read_bytes(), tmp_path)
    assert len(before) > 0

    # The session resumed in a new process: its clock starts at 0 again, its file goes on.
    resumed = RecordingWriter(RecordingSpec(path, append=True))
    copied = resumed.copy_previous()
    rest = pcm[round(WRITTEN_S * 16000) * 2 :]
    for i in range(0, len(rest), CHUNK * 2):
        resumed.audio(rest[i : i + CHUNK * 2], MONO_16K, i / 32000)
    resumed.close()

    assert abs(copied - len(before) / 48_000) < 0.05
    audio = decoded(path)
    total = copied + len(rest) / 32000
    assert abs(len(audio) / 48_000 - total) < 0.1, (len(audio) / 48_000, total)
    assert np.array_equal(audio[: len(before)], before), "the earlier speech changed"
    appended = audio[round(copied * 48_000) :]
    assert same_speech(appended, rest) > 0.95
    assert not previous_path(path).exists()


def test_a_resumed_writer_that_dies_too_loses_neither_part(tmp_path: Path) -> None:
    path = tmp_path / "iv.ogg"
    pcm = clip_pcm()
    Writer(path, 0.0, 8.0).kill()
    first = readable_of(path.read_bytes(), tmp_path)
    second = Writer(path, 8.0, 10.0, append=True)  # copies the first file, then writes 10 s more
    assert previous_path(path).exists()  # kept until the continuation is finished
    second.kill()

    seconds = finish_leftover(RecordingSpec(path))

    assert len(first) / 48_000 + 10.0 <= seconds + 3.0  # the second part, less what its process still buffered
    assert all(ok for _, ok in ogg_pages(path.read_bytes()))
    audio = decoded(path)
    assert np.array_equal(audio[: len(first)], first), "the first process's speech changed"
    assert same_speech(audio[len(first) :], pcm[8 * 32000 :]) > 0.95
    assert not previous_path(path).exists()


def test_a_killed_video_recording_is_finished_and_a_resumed_one_goes_on_after_it(tmp_path: Path) -> None:
    path = tmp_path / "iv.webm"
    Writer(path, 0.0, 6.0, video=True).kill()
    with av.open(str(path)) as left:
        assert left.duration is None  # a killed muxer never wrote the segment's length

    seconds = finish_leftover(RecordingSpec(path, video=True))
    with av.open(str(path)) as finished:
        assert finished.duration is not None and abs(finished.duration / 1e6 - seconds) < 0.15
    frames = video_times(path)
    assert len(frames) >= 10 * (seconds - 0.5)  # the camera's 10 frames a second, up to the end

    Writer(path, 6.0, 6.0, append=True, video=True).kill()
    total = finish_leftover(RecordingSpec(path, video=True))
    times = video_times(path)
    assert total > seconds + 3.0
    assert times[: len(frames)] == frames, "the earlier video changed"
    gaps = np.diff(times)
    assert gaps.min() > 0 and gaps.max() < 0.25, "the resumed video does not follow on from the earlier one"
    assert times[-1] > seconds + 2.5


def test_nothing_to_finish_is_an_error_not_an_empty_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        finish_leftover(RecordingSpec(tmp_path / "elsewhere.ogg"))
    assert not (tmp_path / "elsewhere.ogg").exists()
