"""Recording each live interview, with the candidate's consent: one file per interview, kept across reconnects.

Consent comes from `hello.consent` or `POST /v1/interviews/{id}/consent`; without it nothing is written and the
report says so. A failing disk stops the recording only: HR learn of it from the log, the recording's note and
the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from media import AudioFormat
from media.recording import BackgroundRecorder, RecordingSpec, is_disk_full, recording_suffix
from server.db.status import RecordingStatus
from server.db.store import Store
from server.settings import Settings
from server.stream.live import LiveInterview
from server.stream.messages import Hello

log = logging.getLogger(__name__)

NO_CONSENT_NOTE = "Not recorded: the candidate did not consent to recording."
DISABLED_NOTE = "Not recorded: recording is turned off on this server (SHANMIAN_RECORD=0)."


class SessionRecording:
    """The recording of one interview: what its connections' audio (and video) is written to."""

    def __init__(self, live: LiveInterview, spec: RecordingSpec, store: Store) -> None:
        self.live = live
        self.spec = spec
        self.store = store
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self.recorder = BackgroundRecorder(spec, self._failed)

    def audio(self, pcm: bytes, fmt: AudioFormat, at: float) -> None:
        self.recorder.audio(pcm, fmt, at)

    def video(self, frame: Any, at: float) -> None:
        self.recorder.video(frame, at)

    def _failed(self, exc: BaseException, seconds: float) -> None:
        # Called on the recorder's thread: the store and the session belong to the event loop.
        self._loop.call_soon_threadsafe(self._spawn, exc, seconds)

    def _spawn(self, exc: BaseException, seconds: float) -> None:
        task = self._loop.create_task(self._report_failure(exc, seconds))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _report_failure(self, exc: BaseException, seconds: float) -> None:
        cause = "the disk is full" if is_disk_full(exc) else f"the file could not be written ({exc})"
        note = f"Recording stopped after {seconds:.1f} s: {cause}. The interview went on; the transcript is complete."
        log.error("interview %s: %s", self.live.interview_id, note)
        self.live.report_notes.append(note)
        try:
            await self.store.update_recording(
                self.live.interview_id, status=RecordingStatus.FAILED, note=note, duration_s=round(seconds, 3)
            )
            await self.store.audit("system", "recording_failed", self.live.interview_id, error=str(exc))
        except Exception:
            log.exception("interview %s: could not store the recording failure", self.live.interview_id)

    async def finish(self) -> None:
        """Finish the file (off the event loop) and store how long it is."""
        seconds = await asyncio.to_thread(self.recorder.close)
        if self.recorder.failed is None:
            await self.store.update_recording(self.live.interview_id, status=RecordingStatus.COMPLETE, duration_s=round(seconds, 3))
        elif self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class Recordings:
    """The recordings of this process's live interviews, by interview id."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.directory = settings.recordings_path
        self._open: dict[str, SessionRecording] = {}
        self._awaiting_end: set[str] = set()
        self._finishing: set[asyncio.Task[None]] = set()

    def path_for(self, interview_id: str, video: bool) -> Path:
        return self.directory / f"{interview_id}{recording_suffix(video)}"

    async def join(self, live: LiveInterview, hello: Hello) -> SessionRecording | None:
        """A connection's hello: store a consent it gives, then record if the interview may be recorded."""
        iid = live.interview_id
        if hello.consent is not None:
            await self.store.update_recording(iid, consent=hello.consent, consent_source="hello")
        if hello.mode == "text":
            return None  # a text interview's transcript is its whole record
        current = self._open.get(iid)
        if current is not None:
            return current
        row = await self.store.recording(iid)
        if row is not None and row.status in (RecordingStatus.COMPLETE, RecordingStatus.FAILED):
            return None  # one file per interview; a failed disk is not retried mid-interview
        note = None
        if not self.settings.record:
            note = DISABLED_NOTE
        elif row is None or not row.consent:
            note = NO_CONSENT_NOTE
        if note is not None:
            if note not in live.report_notes:
                live.report_notes.append(note)
            await self.store.update_recording(iid, status=RecordingStatus.NONE, note=note)
            return None
        if NO_CONSENT_NOTE in live.report_notes:  # consent given on a later connection
            live.report_notes.remove(NO_CONSENT_NOTE)
        video = hello.mode == "video"
        spec = RecordingSpec(self.path_for(iid, video), video=video)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            recording = SessionRecording(live, spec, self.store)
        except OSError as exc:
            note = f"Not recorded: the recording file could not be created ({exc})."
            log.error("interview %s: %s", iid, note)
            live.report_notes.append(note)
            await self.store.update_recording(iid, status=RecordingStatus.FAILED, note=note)
            return None
        self._open[iid] = recording
        await self.store.update_recording(
            iid, status=RecordingStatus.RECORDING, path=str(spec.path), media_type=spec.media_type, note=None
        )
        log.info("interview %s: recording to %s", iid, spec.path)
        return recording

    def release(self, live: LiveInterview) -> None:
        """A connection ended: finish the file once the interview has ended (now, or when the grace runs out).

        A reconnect keeps writing to the same file, so only the interview's end counts, not the connection's.
        """
        iid = live.interview_id
        if iid not in self._open:
            return
        if live.finished:
            self._finish(live)
        elif iid not in self._awaiting_end:
            self._awaiting_end.add(iid)
            live.add_end_listener(self._finish)

    def _finish(self, live: LiveInterview) -> None:
        self._awaiting_end.discard(live.interview_id)
        recording = self._open.pop(live.interview_id, None)
        if recording is not None:
            task = asyncio.get_running_loop().create_task(recording.finish())
            self._finishing.add(task)
            task.add_done_callback(self._finishing.discard)

    async def shutdown(self) -> None:
        await asyncio.gather(*self._finishing, return_exceptions=True)
        for recording in list(self._open.values()):
            with contextlib.suppress(Exception):
                await recording.finish()
        self._open.clear()
