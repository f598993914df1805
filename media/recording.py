"""Recording a candidate's audio (Ogg/Opus) or audio and video (WebM: VP8 + Opus) to a file with PyAV.

Timestamps are session seconds: a gap in the audio (a reconnect) is filled with silence, so a time in the transcript
is the same time in the recording. Encoding runs on the recorder's own thread; a write error stops the recording.
A writer holds an exclusive lock on its file while it lives, so a file a dead process left unfinished is told apart
from one being written: it can be finished (`finish_leftover`) or continued (`RecordingSpec.append`).
"""

from __future__ import annotations

import errno
import fcntl
import fractions
import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import av
import numpy as np

from media.audio_format import AudioFormat

log = logging.getLogger(__name__)

OPUS_RATE = 48_000  # libopus takes 8/12/16/24/48 kHz; 48 kHz is what players and WebRTC expect
VIDEO_RATE = 90_000  # the RTP video clock: a fine enough time base for frames arriving at any rate
# A gap shorter than this is jitter between chunks, not missing audio: filling it would drift the timeline.
GAP_TOLERANCE_S = 0.06
AVIO_BUFFER = 4096  # small, so a failing disk is noticed within about a second of audio, not 8 s


class RecordingFailed(OSError):
    """The recording could not be written (disk full, directory gone); the interview goes on without it."""


class RecordingBusy(RecordingFailed):
    """Another live writer holds the recording's file: it is not a leftover, and it is not this writer's."""


@dataclass(frozen=True, slots=True)
class RecordingSpec:
    path: Path
    video: bool = False
    width: int = 640
    height: int = 480
    # Continue what a dead writer left at `path` (its packets first, the new media after them) instead of
    # starting the file anew: a session resumed by another process keeps what was recorded before.
    append: bool = False

    @property
    def media_type(self) -> str:
        return "video/webm" if self.video else "audio/ogg"


def recording_suffix(video: bool) -> str:
    return ".webm" if video else ".ogg"


def previous_path(path: Path) -> Path:
    """Where an appending writer keeps the file it continues until its own file is finished: a crash meanwhile
    leaves both, and the next writer keeps whichever holds more (the new file starts with a copy of the old)."""
    return path.with_name(path.name + ".previous")


def _lock(fd: int, path: Path) -> None:
    """Take the writer's exclusive lock on `fd`; the kernel drops it when the process dies, however it dies."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise RecordingBusy(errno.EBUSY, "another process is writing this recording", str(path)) from None


def _readable_end_s(path: Path) -> float:
    """How far into the session the readable packets of `path` reach, in seconds; 0 when nothing is readable."""
    end = 0.0
    try:
        with av.open(str(path)) as source:
            for packet in _packets(source):
                end = max(end, _end_s(packet))
    except (av.error.FFmpegError, OSError):
        pass  # nothing readable at all: an empty or headerless file
    return end


def _packets(source: Any) -> Any:
    """The readable packets of a container a dead writer may have cut off mid-page: up to the first damaged one."""
    demuxed = source.demux()
    while True:
        try:
            packet = next(demuxed)
        except StopIteration:
            return
        except (av.error.FFmpegError, EOFError):
            return  # the torn tail of a file whose writer died; everything before it is kept
        if packet.dts is not None and packet.size:
            yield packet


def _end_s(packet: Any) -> float:
    return float((packet.pts + (packet.duration or 0)) * packet.time_base)


def _take_over(path: Path) -> Path | None:
    """Move what a dead writer left at `path` aside, to be copied into the new file; returns where it now is.

    After an earlier appending writer died, both its file and the one it continued exist: the one whose readable
    packets reach further wins (the newer starts with a copy of the older).
    """
    previous = previous_path(path)
    if not path.exists():
        return previous if previous.exists() else None
    with open(path, "rb") as held:  # locked while deciding, so a live writer's file is never moved
        _lock(held.fileno(), path)
        if not previous.exists() or _readable_end_s(path) >= _readable_end_s(previous):
            os.replace(path, previous)
        else:
            path.unlink()
    return previous


class RecordingWriter:
    """Synchronous writer: `audio(pcm, fmt, at)` and `video(frame, at)` with `at` in session seconds; `close()`."""

    def __init__(self, spec: RecordingSpec) -> None:
        self.spec = spec
        # What an appending writer copies before anything new; the packets are copied by `copy_previous`.
        self.previous = _take_over(spec.path) if spec.append else None
        # The lock lives on a descriptor of its own, taken before the file is truncated: a file a live writer
        # holds is never emptied under it.
        self._lock_fd = os.open(spec.path, os.O_WRONLY | os.O_CREAT, 0o666)
        try:
            _lock(self._lock_fd, spec.path)
            # An unbuffered file object: ffmpeg's writes reach the disk (and fail there) as they happen.
            self._file = open(spec.path, "wb", buffering=0)  # noqa: SIM115 - owned for the writer's lifetime
        except BaseException:
            self._unlock()
            raise
        try:
            self._out: Any = av.open(
                self._file, mode="w", format="webm" if spec.video else "ogg", buffer_size=AVIO_BUFFER
            )
            self._audio: Any = self._out.add_stream("libopus", rate=OPUS_RATE)
            self._audio.layout = "mono"
            self._video: Any = None
            if spec.video:
                self._video = self._out.add_stream("libvpx", rate=30)
                self._video.width, self._video.height = spec.width, spec.height
                self._video.pix_fmt = "yuv420p"
                self._video.time_base = fractions.Fraction(1, VIDEO_RATE)
                self._video.options = {"deadline": "realtime", "cpu-used": "8"}
        except BaseException:
            self._file.close()
            self._unlock()
            raise
        self._resamplers: dict[tuple[int, int], Any] = {}
        self._audio_samples = 0  # written so far, at 48 kHz: the audio's own position on the session clock
        self._last_video_pts = -1
        # Added to every session second: after a copied previous file, the new session's clock (which starts at 0
        # in the process that resumed it) goes on where the copy ends.
        self._offset_s = 0.0
        self.duration_s = 0.0
        self.closed = False

    def copy_previous(self) -> float:
        """Copy the packets of the file this writer continues (none unless `spec.append` found one), without
        re-encoding; the new media goes after them. Returns the seconds copied. Call it before any write."""
        if self.previous is None:
            return 0.0
        audio_end = video_end = 0.0
        try:
            with av.open(str(self.previous)) as source:
                for packet in _packets(source):
                    if packet.stream.type == "audio":
                        target = self._audio
                        audio_end = max(audio_end, _end_s(packet))
                    elif packet.stream.type == "video" and self._video is not None:
                        target = self._video
                        video_end = max(video_end, float(packet.pts * packet.time_base))
                    else:
                        continue
                    packet.stream = target
                    self._out.mux(packet)
        except av.error.InvalidDataError:
            log.info("recording %s: nothing readable in the file it continues", self.spec.path)
        self._audio_samples = round(audio_end * OPUS_RATE)
        self._last_video_pts = round(video_end * VIDEO_RATE) if video_end else -1
        self._offset_s = max(audio_end, video_end)
        self.duration_s = self._offset_s
        return self._offset_s

    def audio(self, pcm: bytes, fmt: AudioFormat, at: float) -> None:
        """`pcm` is s16le in `fmt`, its first sample spoken at session second `at`."""
        gap = at + self._offset_s - self._audio_samples / OPUS_RATE
        if gap > GAP_TOLERANCE_S:
            self._silence(int(gap * OPUS_RATE))
        samples = np.frombuffer(pcm, dtype="<i2").reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="stereo" if fmt.channels == 2 else "mono")
        frame.sample_rate = fmt.sample_rate
        key = (fmt.sample_rate, fmt.channels)
        if key not in self._resamplers:
            self._resamplers[key] = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE)
        for out in self._resamplers[key].resample(frame):
            self._encode_audio(out)

    def video(self, frame: Any, at: float) -> None:
        """A decoded `av.VideoFrame`, shown at session second `at`; scaled to the recording's size."""
        if self._video is None:
            return
        at += self._offset_s
        pts = int(at * VIDEO_RATE)
        if pts <= self._last_video_pts:  # a container needs strictly growing times
            return
        self._last_video_pts = pts
        image = frame.reformat(width=self.spec.width, height=self.spec.height, format="yuv420p")
        image.pts, image.time_base = pts, fractions.Fraction(1, VIDEO_RATE)
        for packet in self._video.encode(image):
            self._out.mux(packet)
        self.duration_s = max(self.duration_s, at)

    def _silence(self, samples: int) -> None:
        step = OPUS_RATE // 50
        while samples > 0:
            n = min(step, samples)
            frame = av.AudioFrame.from_ndarray(np.zeros((1, n), dtype=np.int16), format="s16", layout="mono")
            frame.sample_rate = OPUS_RATE
            self._encode_audio(frame)
            samples -= n

    def _encode_audio(self, frame: Any) -> None:
        frame.pts = self._audio_samples
        frame.time_base = fractions.Fraction(1, OPUS_RATE)
        self._audio_samples += frame.samples
        for packet in self._audio.encode(frame):
            self._out.mux(packet)
        self.duration_s = max(self.duration_s, self._audio_samples / OPUS_RATE)

    def close(self) -> None:
        """Flush the encoders and finish the container. Raises what the disk raised; the file is closed anyway."""
        if self.closed:
            return
        self.closed = True
        try:
            for stream in (self._audio, self._video):
                if stream is not None:
                    for packet in stream.encode(None):
                        self._out.mux(packet)
            self._out.close()
        finally:
            self._file.close()
            self._unlock()
        if self.previous is not None:
            # Only now: until this file is finished, the one it continues is the complete copy of what it held.
            self.previous.unlink(missing_ok=True)

    def _unlock(self) -> None:
        """Close the lock's descriptor once: its number may belong to another file once closed."""
        fd, self._lock_fd = self._lock_fd, -1
        if fd >= 0:
            os.close(fd)

    def abandon(self) -> None:
        """Stop after a failure without flushing anything more (the disk already refused)."""
        self.closed = True
        for close in (self._out.close, self._file.close, self._unlock):
            try:
                close()
            except Exception as exc:  # the writer already failed; a second error adds nothing
                log.debug("recording %s: %s while abandoning", self.spec.path, exc)


def finish_leftover(spec: RecordingSpec) -> float:
    """Finish a recording whose writer died before closing it: its readable packets, in a container that is
    complete and playable to the end. Returns the seconds kept. Blocking: call it off the event loop.

    Raises RecordingBusy when a live writer holds the file, FileNotFoundError when there is nothing to finish.
    """
    if not spec.path.exists() and not previous_path(spec.path).exists():
        raise FileNotFoundError(errno.ENOENT, "no recording to finish", str(spec.path))
    writer = RecordingWriter(replace(spec, append=True))
    try:
        writer.copy_previous()
    except BaseException:
        writer.abandon()
        raise
    writer.close()
    return writer.duration_s


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class BackgroundRecorder:
    """A RecordingWriter on its own thread, so encoding never stalls the event loop.

    `on_failure(exc, seconds_recorded)` is called once, from the writer thread, when a write fails; later calls are
    then ignored. `close()` blocks until the file is finished: call it off the event loop. Writes after `close()`
    (a connection still delivering media) are dropped: neither queued nor a failure.
    """

    def __init__(self, spec: RecordingSpec, on_failure: Callable[[BaseException, float], None]) -> None:
        self.spec = spec
        self.on_failure = on_failure
        self.failed: BaseException | None = None
        self._writer = RecordingWriter(spec)
        # Bounded: if the disk is slower than the session, drop the recording rather than grow memory without end.
        self._queue: queue.Queue[tuple[str, Any, Any, float] | None] = queue.Queue(maxsize=2000)
        # Guards `_closing` and `failed`: no chunk is queued behind close()'s end marker, and a failure is reported once.
        self._lock = threading.Lock()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=f"recorder-{spec.path.stem}", daemon=True)
        self._thread.start()

    @property
    def duration_s(self) -> float:
        return self._writer.duration_s

    def audio(self, pcm: bytes, fmt: AudioFormat, at: float) -> None:
        self._put(("audio", pcm, fmt, at))

    def video(self, frame: Any, at: float) -> None:
        self._put(("video", frame, None, at))

    def _put(self, item: tuple[str, Any, Any, float]) -> None:
        with self._lock:
            if self._closing or self.failed is not None:
                return
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                # Decided under the lock, so a close() that follows sees the failure and abandons the file.
                failure = RecordingFailed(errno.ENOBUFS, "the recording fell too far behind the session")
                self.failed = failure
        self.on_failure(failure, self._writer.duration_s)

    def _run(self) -> None:
        try:
            self._writer.copy_previous()  # here, not on the caller's thread: a long file takes a while
        except Exception as exc:
            self._fail(exc)
        while (item := self._queue.get()) is not None:
            if self.failed is not None:
                continue
            kind, data, fmt, at = item
            try:
                if kind == "audio":
                    self._writer.audio(data, fmt, at)
                else:
                    self._writer.video(data, at)
            except Exception as exc:
                self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            if self.failed is not None:
                return
            self.failed = exc
        # The writer is only touched by its thread and by close(), after the thread ended: close() abandons it.
        self.on_failure(exc, self._writer.duration_s)

    def close(self) -> float:
        """Finish the file; returns the seconds recorded. Idempotent."""
        with self._lock:
            self._closing = True
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._writer.closed:
            return self._writer.duration_s
        if self.failed is not None:
            self._writer.abandon()
        else:
            try:
                self._writer.close()
            except Exception as exc:
                self._writer.abandon()
                self._fail(exc)
        return self._writer.duration_s
