"""The candidate's side of the stream (PROTOCOL.md sections 2 and 4) over any connection: the hello handshake, the
receive loop that feeds the live interview, and `join_interview`, one connection's life in an interview.

Every frame, valid or not, gets a clear answer; nothing a client sends ends the session unless `closed` follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, replace
from typing import Any

from dialogue.session import AnswerFinished, AnswerRevised, CandidateEnded, RepeatAsked, RephraseAsked, SessionEvent
from media import UnsupportedAudio
from server.db.store import InterviewEnded
from server.db.tables import InterviewRow
from server.metrics import Metrics
from server.ratelimit import AUDIO_REAL_TIME_FACTOR, AudioBucket
from server.runtime import Runtime
from server.settings import Settings
from server.stream.frames import BadFrame, accept_frame
from server.stream.live import LiveInterview, SessionClosed
from server.stream.messages import (
    AnswerMsg,
    AudioSpec,
    BadMessage,
    End,
    Hello,
    Ping,
    Pong,
    Ready,
    Repeat,
    Rephrase,
    TurnEndOut,
    decode_candidate,
)
from server.stream.recording import Recordings, SessionRecording
from server.stream.registry import LiveInterviews, NodeFull
from server.stream.transport import Connection, LinkClosed
from server.stream.voice import VoiceChannel, audio_format

log = logging.getLogger(__name__)

# What the WebRTC transport makes of any received audio track (it resamples with PyAV) before the pipeline.
TRACK_AUDIO = AudioSpec(encoding="pcm_s16le", sample_rate=16000, channels=1)
_NO_ASR = 'this server was started without speech recognition (SHANMIAN_VOICE=0); use mode "text"'
# While a client keeps sending audio too fast, it hears about it this often (a flood gets no error per frame).
AUDIO_REFUSED_ERROR_EVERY_S = 1.0


@dataclass(frozen=True, slots=True)
class _Queued:
    """A session event waiting for the worker; for an answer, when it ended (time.monotonic()) and how long its
    final transcript took after the speech stopped, for the turn-latency metrics."""

    event: SessionEvent
    answered_at: float | None = None
    asr_final_s: float | None = None


class CandidateStream:
    """One candidate connection, whatever its transport: the hello handshake, then the receive loop feeding the
    live interview. With `track_audio` (WebRTC) the audio comes from a media track in TRACK_AUDIO's format, not
    from binary frames, so a voice hello needs no "audio".
    """

    def __init__(
        self,
        conn: Connection,
        settings: Settings,
        runtime: Runtime,
        recordings: Recordings | None = None,
        *,
        track_audio: bool = False,
        metrics: Metrics | None = None,
    ) -> None:
        self.conn = conn
        self.settings = settings
        self.runtime = runtime
        self.recordings = recordings
        self.track_audio = track_audio
        self.metrics = metrics  # the serving app's; None (a stream built by a test) records nothing
        self.live: LiveInterview | None = None
        self.hello: Hello | None = None
        self.voice: VoiceChannel | None = None
        self.recording: SessionRecording | None = None
        self.voice_ready = asyncio.Event()  # set once the hello is in and audio can flow into the session
        # None ends the worker once everything before it has reached the session.
        self._events: asyncio.Queue[_Queued | None] = asyncio.Queue()
        # Rephrase and repeat requests for the question they were made on: a flood of them is refused.
        self._asked_again_for = ""
        self._asked_again = 0
        # Binary audio frames, counted by their duration: beyond twice real time (and a burst) they are dropped.
        self._audio_allowance = AudioBucket()
        self._audio_refused_s = 0.0
        self._audio_refused_told_at: float | None = None

    async def receive(self) -> str | bytes:
        return await self.conn.receive()

    async def error(self, code: str, message: str) -> None:
        """A protocol `error` to the candidate, counted by code."""
        if self.metrics is not None:
            self.metrics.client_error("stream", code)
        await self.conn.error(code, message)

    async def fail(self, code: str, message: str) -> None:
        """An error the connection cannot go on after, counted by code: said, then the connection is closed."""
        if self.metrics is not None:
            self.metrics.client_error("stream", code)
        await self.conn.fail(code, message)

    def _queue(self, event: SessionEvent, answered_at: float | None = None, asr_final_s: float | None = None) -> None:
        self._events.put_nowait(_Queued(event, answered_at, asr_final_s))

    def _spoken(self, answer: AnswerFinished) -> None:
        """A spoken turn has ended: its latency runs from when the speech stopped (or from now, if it did not)."""
        ended = time.monotonic()
        stopped = self.voice.speech_stopped_at if self.voice is not None else None
        if stopped is None:
            self._queue(answer, ended)
        else:
            self._queue(answer, stopped, ended - stopped)

    async def await_hello(self) -> Hello | None:
        try:
            async with asyncio.timeout(self.settings.hello_timeout_s):
                while True:
                    message = await self._next()
                    if isinstance(message, bytes):
                        await self.error("bad_message", "send the hello message before any audio")
                    elif isinstance(message, Ping):
                        await self.conn.send(Pong())
                    elif not isinstance(message, Hello):
                        await self.error("bad_message", f"the first message must be hello, not {message_type(message)}")
                    elif (problem := self._hello_problem(message)) is not None:
                        await self.error("unsupported_audio", problem)
                    else:
                        return message
        except TimeoutError:
            await self.fail("bad_message", f"no hello within {self.settings.hello_timeout_s:.0f} s")
        return None

    async def _next(self) -> Any:
        """The next audio frame (bytes) or decoded message; a malformed message is answered here and skipped."""
        while True:
            frame = await self.receive()
            if isinstance(frame, bytes):
                return frame
            try:
                return self._decode(frame)
            except BadMessage as exc:
                await self.error(exc.code, str(exc))

    def _decode(self, frame: str) -> Any:
        if len(frame.encode()) > self.settings.max_message_bytes:
            raise BadMessage(f"the message is larger than {self.settings.max_message_bytes} bytes", "too_large")
        return decode_candidate(frame)

    def _hello_problem(self, hello: Hello) -> str | None:
        if hello.mode == "text":
            return None
        if self.track_audio:
            # The media track carries the audio; a declared PCM format would describe nothing that is sent.
            return None if self.runtime.asr is not None else _NO_ASR
        if hello.audio is None:
            return (
                f'mode {hello.mode!r} needs "audio": {{"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1}}'
            )
        if self.runtime.asr is None:
            return _NO_ASR
        try:
            audio_format(hello.audio)
        except UnsupportedAudio as exc:
            return str(exc)
        return None

    async def run(self, live: LiveInterview) -> None:
        self.live = live
        assert self.hello is not None
        if self.recordings is not None:
            self.recording = await self.recordings.join(live, self.hello)
        spec = TRACK_AUDIO if self.track_audio else self.hello.audio
        if self.hello.mode != "text" and spec is not None:
            self.voice = VoiceChannel.open(self.runtime, live, spec, self._spoken)
            self.voice.on_revision = self._queue
            if self.recording is not None:
                self.voice.on_audio = self.recording.audio
        self.voice_ready.set()
        worker = asyncio.create_task(self._work())
        time_limit = asyncio.create_task(self._time_limit(live))
        try:
            while True:
                message = await self._next()
                if isinstance(message, bytes):
                    await self._audio(message)
                    continue
                await self._dispatch(message)
                if live.finished:
                    break
        finally:
            time_limit.cancel()
            # A dropped connection keeps what the candidate already said: the turn in progress is finished
            # and reaches the session before this connection's worker stops.
            if self.voice is not None:
                await self.voice.finish()
            self._events.put_nowait(None)
            await worker

    async def _audio(self, frame: bytes) -> None:
        if self.track_audio:
            await self.error("bad_message", "over WebRTC the audio goes on the audio track, not the data channel")
            return
        if self.voice is None:
            await self.error(
                "bad_message", "binary audio frames are only accepted in voice or video mode; this session is text"
            )
            return
        fmt = self.voice.pipeline.fmt
        try:
            if not accept_frame(fmt, frame):
                return
        except BadFrame as exc:
            await self.error(exc.code, str(exc))
            return
        seconds = len(frame) // fmt.bytes_per_frame / fmt.sample_rate
        if self._audio_allowance.take(seconds):
            await self.voice.push(frame)
        else:
            await self._audio_refused(seconds)

    async def _audio_refused(self, seconds: float) -> None:
        """A frame over the audio rate limit is dropped; the session goes on, and the client is told (not for every
        frame of a flood: at most every AUDIO_REFUSED_ERROR_EVERY_S); the connection is read more slowly."""
        if self.metrics is not None:
            self.metrics.audio_frame_refused()
        self._audio_refused_s += seconds
        now = time.monotonic()
        told = self._audio_refused_told_at
        if told is None or now - told >= AUDIO_REFUSED_ERROR_EVERY_S:
            self._audio_refused_told_at = now
            await self.error(
                "rate_limited",
                f"audio is arriving faster than {AUDIO_REAL_TIME_FACTOR:g}x real time; what exceeds it is dropped "
                f"({self._audio_refused_s:.1f} s of audio so far); send the audio as it is recorded",
            )
        # The next frame is read only once the limit has earned this one: a flood is read no faster than the
        # limit (the rest waits in the client's socket), so it costs this node's event loop next to nothing.
        await asyncio.sleep(seconds / AUDIO_REAL_TIME_FACTOR)

    async def _dispatch(self, message: Any) -> None:
        match message:
            case Ping():
                await self.conn.send(Pong())
            case Hello():
                await self.error("bad_message", "hello was already received; send it once per connection")
            case AnswerMsg(text=text):
                if not text.strip():
                    await self.error("bad_message", "the answer is empty")
                elif len(text) > self.settings.max_text_chars:
                    await self.error(
                        "too_large",
                        f"the answer is {len(text)} characters; the limit is {self.settings.max_text_chars}",
                    )
                else:
                    assert self.live is not None
                    # Observers (and the transcript view) see a typed answer as a spoken one's turn_end.
                    answered_at = time.monotonic()
                    await self.live.emit(TurnEndOut(text=text))
                    self._queue(AnswerFinished(text), answered_at)
            case Rephrase() | Repeat() if not self._may_ask_again():
                await self.error(
                    "rate_limited",
                    f"this question was already asked again {self.settings.max_repeats_per_question} times; "
                    "please answer it as well as you can (saying you don't know is an answer too)",
                )
            case Rephrase():
                self._queue(RephraseAsked())
            case Repeat():
                self._queue(RepeatAsked())
            case End():
                await self._end()

    def _may_ask_again(self) -> bool:
        """Counts a rephrase or repeat request against the question it is made on (a new question starts over)."""
        asked = self.live.last_question if self.live is not None else None
        question_id = asked.question_id if asked is not None else ""
        if question_id != self._asked_again_for:
            self._asked_again_for, self._asked_again = question_id, 0
        self._asked_again += 1
        return self._asked_again <= self.settings.max_repeats_per_question

    async def _end(self) -> None:
        if self.voice is not None:
            await self.voice.finish()  # what was said before "end" still counts
        self._queue(CandidateEnded())

    async def _time_limit(self, live: LiveInterview) -> None:
        """Ends the interview (it is scored as usual) SHANMIAN_MAX_INTERVIEW_S after it went live, on whichever node."""
        await asyncio.sleep(max(0.0, self.settings.max_interview_s - live.clock()))
        if live.finished:
            return
        minutes = self.settings.max_interview_s / 60
        with contextlib.suppress(LinkClosed):
            await self.error(
                "session_closed", f"the interview's time limit ({minutes:.0f} min) is reached; it ends now"
            )
        await self._end()

    async def _work(self) -> None:
        """Session events in order, off the receive loop, so a ping is answered while the model works."""
        assert self.live is not None
        while (queued := await self._events.get()) is not None:
            event = queued.event
            if self.live.finished:
                continue
            if isinstance(event, AnswerRevised):
                # Stored as the answer was: within the same limit, and with nothing to tell the candidate.
                await self._revise(replace(event, text=event.text[: self.settings.max_text_chars]))
                continue
            if isinstance(event, AnswerFinished) and len(event.text) > self.settings.max_text_chars:
                # Only a spoken answer gets here this long (a typed one is refused first): what was said is
                # kept, up to the limit, rather than lost.
                event = replace(event, text=event.text[: self.settings.max_text_chars])
                with contextlib.suppress(LinkClosed):
                    await self.error(
                        "too_large", f"the answer was cut at the limit of {self.settings.max_text_chars} characters"
                    )
            sent_before = self.live.question_sent_at
            try:
                await self.live.submit(event)
                if queued.answered_at is not None and self.live.question_sent_at != sent_before:
                    self._turn_measured(queued.answered_at, queued.asr_final_s)
            except SessionClosed:
                await self.error("session_closed", "the interview has ended")
            except Exception:
                # The event's name only: an answer's words are the candidate's, not the log's.
                log.exception("interview %s: failed to handle %s", self.live.interview_id, type(event).__name__)
                await self.error("internal", "the server failed to handle that message; please try again")
            if self.live.finished:
                await self.conn.close("completed", announce=False)

    async def _revise(self, event: AnswerRevised) -> None:
        assert self.live is not None
        try:
            await self.live.submit(event)
        except SessionClosed:
            pass  # the interview ended before the revision came: its report was built on the live words
        except Exception:
            log.exception("interview %s: failed to store a revised answer", self.live.interview_id)

    def _turn_measured(self, answered_at: float, asr_final_s: float | None) -> None:
        """An answer brought the next question: the turn's latency, and its parts, into the metrics."""
        live = self.live
        if self.metrics is None or live is None:
            return
        self.metrics.turn(
            live.question_sent_at - answered_at,
            asr_final=asr_final_s,
            decision=live.decision_s,
            question_sent=live.question_sent_at - live.decided_at,
        )


def message_type(message: Any) -> str:
    return str(type(message).__struct_config__.tag)


async def join_interview(stream: CandidateStream, row: InterviewRow, live_interviews: LiveInterviews) -> None:
    """Hello, attach to the live interview, run until the transport closes; shared by WebSocket and WebRTC."""
    conn = stream.conn
    live: LiveInterview | None = None
    try:
        hello = await stream.await_hello()
        if hello is None:
            return
        stream.hello = hello
        try:
            live = await live_interviews.open(row)
        except NodeFull:
            await stream.fail(
                "rate_limited",
                f"this server is running {stream.settings.max_live_sessions} interviews, its limit; "
                "please try again in a few minutes",
            )
            return
        if live.finished:
            raise InterviewEnded(row.id)
        resumed = await live.attach(conn)
        conn.clock = live.clock
        await live.emit(Ready(session_id=row.id, resumed=resumed))
        await live.begin()  # its status change to live is a compare-and-set: an ended interview raises here
        await stream.run(live)
    except InterviewEnded:
        # The connection was let in while the interview was scheduled; it has ended since: no retake.
        await stream.fail("session_closed", "this interview has ended; it cannot be joined again")
    except LinkClosed:
        pass
    finally:
        conn.open = False
        if live is not None:
            await live.detach(conn)
            if stream.recordings is not None:
                stream.recordings.release(live)
