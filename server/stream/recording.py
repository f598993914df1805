"""Recording each live interview, with the candidate's consent: one file per interview, kept across reconnects.

Consent comes from the candidate only: `hello.consent` or `POST /v1/interviews/{id}/consent` with their token;
without it nothing is written and the report says so. Video is recorded only under a video consent as well
(`hello.video_consent`, or `"video": true` over REST); without one a video interview's recording is audio only. A
withdrawal (`withdraw_consent` on the stream, or `"consent": false` over REST) stops the recording at once: the file
is finished and playable, and nothing said after it is written. The recording row keeps the consent (`consent`,
`video_consent`) and who last stated it (`consent_source`).
A failing disk stops the recording only: HR learn of it from the log, the recording's note and the report.
A recording a dead process left `recording` is finished at start-up (playable to its last readable second), and a
session resumed in another process continues that file rather than starting it over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from media import AudioFormat
from media.recording import (
    BackgroundRecorder,
    RecordingBusy,
    RecordingSpec,
    finish_leftover,
    is_disk_full,
    recording_suffix,
)
from server.db.leases import LeaseLost
from server.db.status import ENDED, InterviewStatus, RecordingStatus
from server.db.store import Store
from server.db.tables import InterviewRow, RecordingRow
from server.settings import Settings
from server.stream.live import LiveInterview
from server.stream.messages import Hello

log = logging.getLogger(__name__)

NO_CONSENT_NOTE = "Not recorded: the candidate did not consent to recording."
NO_VIDEO_CONSENT_NOTE = "Video not recorded: the candidate consented to an audio recording only."
DISABLED_NOTE = "Not recorded: recording is turned off on this server (SHANMIAN_RECORD=0)."


def withdrawn_note(seconds: float) -> str:
    return f"Recording stopped after {seconds:.1f} s: the candidate withdrew consent; nothing later was recorded."


def leftover_note(seconds: float) -> str:
    return (
        f"The process recording this interview stopped before finishing the file; it was finished when a server "
        f"started, with the {seconds:.1f} s that could be read."
    )


def video_consented(row: RecordingRow | None) -> bool:
    return row is not None and bool(row.consent) and bool(row.video_consent)


class SessionRecording:
    """The recording of one interview: what its connections' audio (and video) is written to."""

    def __init__(self, live: LiveInterview, spec: RecordingSpec, store: Store) -> None:
        self.live = live
        self.spec = spec
        self.store = store
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self.recorder = BackgroundRecorder(spec, self._failed)
        # Set the moment consent is withdrawn, before the file is finished: no later chunk is even queued.
        self.stopped = False

    def audio(self, pcm: bytes, fmt: AudioFormat, at: float) -> None:
        if not self.stopped:
            self.recorder.audio(pcm, fmt, at)

    def video(self, frame: Any, at: float) -> None:
        # An audio-only recording (no video consent) takes no frames: they would only wait in its queue.
        if self.spec.video and not self.stopped:
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
                self.live.interview_id,
                fence=self.live.fence,
                status=RecordingStatus.FAILED,
                note=note,
                duration_s=round(seconds, 3),
            )
            # The error's type, not its text: the text names the file, whose name is the interview id, and an
            # audit detail is hashed into the chain, so an erasure could not take the id out of it.
            error = "disk_full" if is_disk_full(exc) else type(exc).__name__
            await self.store.audit("system", "recording_failed", self.live.interview_id, error=error)
        except Exception:
            log.exception("interview %s: could not store the recording failure", self.live.interview_id)

    async def finish(self) -> float:
        """Finish the file (off the event loop) and store how long it is; returns the seconds."""
        seconds = await asyncio.to_thread(self.recorder.close)
        if self.recorder.failed is None:
            try:
                await self.store.update_recording(
                    self.live.interview_id,
                    fence=self.live.fence,
                    status=RecordingStatus.COMPLETE,
                    duration_s=round(seconds, 3),
                )
            except LeaseLost:
                # Another node runs the interview now and owns its recording row; this node's file stays finished.
                log.info(
                    "interview %s: recording finished here after a takeover; its row is the new node's",
                    self.live.interview_id,
                )
        elif self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        return seconds


class Recordings:
    """The recordings of this process's live interviews, by interview id."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.directory = settings.recordings_path
        self._open: dict[str, SessionRecording] = {}
        self._awaiting_end: set[str] = set()
        self._finishing: set[asyncio.Task[float]] = set()
        self._session = async_sessionmaker(store.engine, expire_on_commit=False)

    def path_for(self, interview_id: str, video: bool) -> Path:
        return self.directory / f"{interview_id}{recording_suffix(video)}"

    async def consent(self, interview_id: str, via: str, audio: bool | None, video: bool | None) -> RecordingRow:
        """Store what the candidate said; None keeps what they said before. Video consent needs audio consent: without
        it a video consent is stored as refused, and video never asked about stays None."""
        row = await self.store.recording(interview_id)
        given = audio if audio is not None else bool(row is not None and row.consent)
        said_video = video if video is not None else (row.video_consent if row is not None else None)
        return await self.store.update_recording(
            interview_id, consent=given, consent_source=via, video_consent=said_video and given
        )

    async def join(self, live: LiveInterview, hello: Hello) -> SessionRecording | None:
        """A connection's hello: store a consent it gives, then record if the interview may be recorded."""
        iid = live.interview_id
        stated = hello.consent is not None or hello.video_consent is not None
        if stated and not await self._finished(iid):
            await self.consent(iid, "hello", hello.consent, hello.video_consent)
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
        video = hello.mode == "video" and video_consented(row)
        if hello.mode == "video" and not video and NO_VIDEO_CONSENT_NOTE not in live.report_notes:
            live.report_notes.append(NO_VIDEO_CONSENT_NOTE)
        spec = RecordingSpec(self.path_for(iid, video), video=video)
        if row is not None and row.status == RecordingStatus.RECORDING and row.path:
            # Recording, yet not open here: the process that recorded it died and this one resumed the session.
            # Its file goes on, in its own format (a container cannot change midway).
            spec = RecordingSpec(Path(row.path), video=row.media_type == "video/webm", append=True)
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

    async def close_leftovers(self, interview_ids: Collection[str] | None = None) -> list[str]:
        """Finish the files of recordings still `recording` whose writer is gone (a dead process on this machine, or
        on another one sharing the folder); returns their interview ids. Run at start-up over all of them, and by
        the lease sweeper over the interviews it has just resolved (`interview_ids`).

        A file a live writer holds (its lock) is left alone, and so is a row whose file is not on this machine's disk
        (another node's: it finishes the file when it starts). An ended interview's recording becomes `complete`;
        one still `live` stays `recording`, its file finished and ready to be continued if the session is resumed.
        """
        query = (
            select(RecordingRow, InterviewRow.status)
            .join(InterviewRow, InterviewRow.id == RecordingRow.interview_id)
            .where(RecordingRow.status == RecordingStatus.RECORDING)
        )
        if interview_ids is not None:
            query = query.where(RecordingRow.interview_id.in_(sorted(interview_ids)))
        async with self._session() as s:
            leftovers = (await s.execute(query)).all()
        closed = []
        for row, interview_status in leftovers:
            if not row.path:
                continue  # nothing was ever written for it
            spec = RecordingSpec(Path(row.path), video=row.media_type == "video/webm")
            try:
                seconds = await asyncio.to_thread(finish_leftover, spec)
            except (RecordingBusy, FileNotFoundError):
                continue
            except Exception as exc:  # one damaged file must not keep the others, or the server, from starting
                log.error("interview %s: could not finish the recording %s left: %s", row.interview_id, spec.path, exc)
                continue
            values: dict[str, Any] = {"duration_s": round(seconds, 3), "note": leftover_note(seconds)}
            if InterviewStatus(interview_status) in ENDED:
                values["status"] = RecordingStatus.COMPLETE
            await self.store.update_recording(row.interview_id, **values)
            log.info("interview %s: finished the recording a stopped process left (%.1f s)", row.interview_id, seconds)
            closed.append(row.interview_id)
        return closed

    async def _finished(self, interview_id: str) -> bool:
        """The interview's one file is finished (or failed): a reconnect's hello, which a page sends with the
        box it showed at the start, must not turn a withdrawal back into a consent that records nothing."""
        row = await self.store.recording(interview_id)
        return row is not None and row.status in (RecordingStatus.COMPLETE, RecordingStatus.FAILED)

    async def withdraw(self, interview_id: str, via: str) -> float | None:
        """Consent withdrawn: the recording stops now and its file is finished; returns the seconds it kept, or
        None when nothing was being recorded here. A reconnect does not record again (one file per interview).
        """
        recording = self._open.pop(interview_id, None)
        self._awaiting_end.discard(interview_id)
        if recording is not None:
            recording.stopped = True  # before anything awaits: audio arriving meanwhile is not written
        await self.consent(interview_id, via, False, False)
        if recording is None:
            return None
        seconds = await recording.finish()
        note = withdrawn_note(seconds)
        recording.live.report_notes.append(note)
        if recording.recorder.failed is None:
            await self.store.update_recording(interview_id, note=note)
        log.info("interview %s: recording stopped after %.1f s, consent withdrawn", interview_id, seconds)
        return seconds

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
