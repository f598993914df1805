"""A candidate connection's voice: audio frames into a media AudioPipeline, its events out as protocol messages.

Each finished spoken turn becomes an `AnswerFinished` for the session, in order with the connection's other events,
and its revision (the turn decoded again from its whole audio) an `AnswerRevised` when it comes.
Frames wait in a short queue of their own, fed to the pipeline by a task: while the pipeline holds a frame back
(its back-pressure: a turn-end decision waiting for its transcript), the connection still reads and answers its
other messages (a `ping`, an `end`) instead of leaving them behind the audio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from dialogue.session import AnswerFinished, AnswerRevised
from media import (
    AudioFormat,
    AudioPipeline,
    PipelineClosed,
    SpeechStarted,
    SpeechStopped,
    TranscriptFinal,
    TranscriptPartial,
    TurnEnded,
    TurnRevised,
)
from server.runtime import Runtime
from server.stream.live import LiveInterview
from server.stream.messages import AudioSpec, SpeechStartedOut, SpeechStoppedOut, TranscriptOut, TurnEndOut

log = logging.getLogger(__name__)

# Audio a connection may have queued ahead of its pipeline before `push` waits (back-pressure to the client):
# enough to ride out a turn-end decision waiting for ASR on a busy node; the rate limit (server/ratelimit.py)
# bounds how fast it can fill.
MAX_QUEUED_AUDIO_S = 10.0


def audio_format(spec: AudioSpec) -> AudioFormat:
    """The declared format, validated; raises media's UnsupportedAudio with a message for the client."""
    return AudioFormat(spec.encoding, spec.sample_rate, spec.channels).validate()


class VoiceChannel:
    """Runs one AudioPipeline for one connection; `finish()` ends the turn in progress and drains its events."""

    def __init__(
        self, live: LiveInterview, pipeline: AudioPipeline, on_answer: Callable[[AnswerFinished], None]
    ) -> None:
        self.live = live
        self.pipeline = pipeline
        self.on_answer = on_answer
        # Transcript times are session seconds, so a reconnect's new audio clock does not restart them at 0.
        self.offset = live.clock()
        self._task = asyncio.create_task(self._relay())
        self._finished = False
        self._frames: asyncio.Queue[bytes] = asyncio.Queue()
        self._queued_s = 0.0
        self._room = asyncio.Event()  # set whenever the feeder has taken a frame: a waiting push looks again
        self._feeder = asyncio.create_task(self._feed())
        self._samples = 0  # fed on this connection: with `offset`, where the next frame sits in the session
        # Sees every accepted frame with its session time (the recording), so the file lines up with transcripts.
        self.on_audio: Callable[[bytes, AudioFormat, float], None] | None = None
        # Receives each finished turn's revised transcript, in session seconds like its AnswerFinished.
        self.on_revision: Callable[[AnswerRevised], None] | None = None
        # When the candidate last stopped speaking (time.monotonic()), None while they speak: where a turn's
        # latency starts (server/metrics.py).
        self.speech_stopped_at: float | None = None

    @classmethod
    def open(
        cls, runtime: Runtime, live: LiveInterview, spec: AudioSpec, on_answer: Callable[[AnswerFinished], None]
    ) -> VoiceChannel:
        if runtime.asr is None or runtime.vad is None:
            raise RuntimeError("voice needs the ASR engine and VAD, which this server did not load")
        pipeline = AudioPipeline(
            runtime.asr,
            runtime.vad,
            live.plan.language,
            audio_format(spec),
            revise_up_to_s=runtime.settings.revise_turns_up_to_s,
        )
        return cls(live, pipeline, on_answer)

    async def push(self, frame: bytes) -> None:
        """Queues whole-sample PCM of any length for the pipeline, in order; waits only while MAX_QUEUED_AUDIO_S
        are already queued (back-pressure)."""
        if self._finished:
            return
        while self._queued_s >= MAX_QUEUED_AUDIO_S:
            self._room.clear()
            await self._room.wait()
        self._queued_s += self._seconds(frame)
        self._frames.put_nowait(frame)

    async def finish(self) -> None:
        """End the turn in progress now (after the audio already queued) and relay everything it produced.
        Idempotent."""
        if self._finished:
            await self._task
            return
        self._finished = True
        await self._frames.join()
        self._feeder.cancel()
        with contextlib.suppress(PipelineClosed):
            await self.pipeline.flush()
        await self.pipeline.close()
        await self._task

    def _seconds(self, frame: bytes) -> float:
        fmt = self.pipeline.fmt
        return len(frame) // fmt.bytes_per_frame / fmt.sample_rate

    async def _feed(self) -> None:
        fmt = self.pipeline.fmt
        while True:
            frame = await self._frames.get()
            try:
                await self.pipeline.push(frame)
                if self.on_audio is not None:
                    self.on_audio(frame, fmt, self.offset + self._samples / fmt.sample_rate)
                self._samples += len(frame) // fmt.bytes_per_frame
            except PipelineClosed:
                pass
            except Exception:  # one frame that fails must not stop the candidate's audio
                log.exception("interview %s: failed to process an audio frame", self.live.interview_id)
            finally:
                self._queued_s -= self._seconds(frame)
                self._room.set()
                self._frames.task_done()

    async def _relay(self) -> None:
        off = self.offset
        turn_so_far: list[str] = []
        async for event in self.pipeline.events():
            try:
                match event:
                    case SpeechStarted():
                        self.speech_stopped_at = None
                        await self.live.emit(SpeechStartedOut())
                    case TranscriptPartial(text, start, end):
                        await self.live.emit(TranscriptOut(final=False, text=text, start=start + off, end=end + off))
                    case TranscriptFinal(text, start, end):
                        await self.live.emit(TranscriptOut(final=True, text=text, start=start + off, end=end + off))
                        turn_so_far.append(text)
                        if not self.live.finished:
                            # A pause: the follow-up this answer would need can be worded before the turn ends.
                            self.live.interviewer.anticipate(" ".join(turn_so_far))
                    case SpeechStopped():
                        self.speech_stopped_at = time.monotonic()
                        await self.live.emit(SpeechStoppedOut())
                    case TurnEnded(text, start, end, revising):
                        turn_so_far.clear()
                        await self.live.emit(TurnEndOut(text=text))
                        revision_follows = revising and self.on_revision is not None
                        self.on_answer(
                            AnswerFinished(text, round(start + off, 3), round(end + off, 3), revision_follows)
                        )
                    case TurnRevised(text, start, end):
                        if self.on_revision is not None:
                            self.on_revision(AnswerRevised(text, round(start + off, 3), round(end + off, 3)))
            except Exception:  # one event that cannot be delivered must not end the candidate's audio
                # The event's type only: its text is the candidate's words, which stay out of the logs.
                log.exception("interview %s: failed to relay a %s", self.live.interview_id, type(event).__name__)
