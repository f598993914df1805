"""A candidate connection's voice: audio frames into a media AudioPipeline, its events out as protocol messages.

Each finished spoken turn becomes an `AnswerFinished` for the session, in order with the connection's other events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from dialogue.session import AnswerFinished
from media import (
    AudioFormat,
    AudioPipeline,
    PipelineClosed,
    SpeechStarted,
    SpeechStopped,
    TranscriptFinal,
    TranscriptPartial,
    TurnEnded,
)
from server.runtime import Runtime
from server.stream.live import LiveInterview
from server.stream.messages import AudioSpec, SpeechStartedOut, SpeechStoppedOut, TranscriptOut, TurnEndOut

log = logging.getLogger(__name__)


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
        self._samples = 0  # received on this connection: with `offset`, where the next frame sits in the session
        # Sees every accepted frame with its session time (the recording), so the file lines up with transcripts.
        self.on_audio: Callable[[bytes, AudioFormat, float], None] | None = None
        # When the candidate last stopped speaking (time.monotonic()), None while they speak: where a turn's
        # latency starts (server/metrics.py).
        self.speech_stopped_at: float | None = None

    @classmethod
    def open(
        cls, runtime: Runtime, live: LiveInterview, spec: AudioSpec, on_answer: Callable[[AnswerFinished], None]
    ) -> VoiceChannel:
        if runtime.asr is None or runtime.vad is None:
            raise RuntimeError("voice needs the ASR engine and VAD, which this server did not load")
        pipeline = AudioPipeline(runtime.asr, runtime.vad, live.plan.language, audio_format(spec))
        return cls(live, pipeline, on_answer)

    async def push(self, frame: bytes) -> None:
        """Takes whole-sample PCM of any length (FrameError otherwise); returns once the audio is accounted for
        (back-pressure).
        """
        if self._finished:
            return
        await self.pipeline.push(frame)
        fmt = self.pipeline.fmt
        if self.on_audio is not None:
            self.on_audio(frame, fmt, self.offset + self._samples / fmt.sample_rate)
        self._samples += len(frame) // fmt.bytes_per_frame

    async def finish(self) -> None:
        """End the turn in progress now and relay everything it produced. Idempotent."""
        if self._finished:
            await self._task
            return
        self._finished = True
        with contextlib.suppress(PipelineClosed):
            await self.pipeline.flush()
        await self.pipeline.close()
        await self._task

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
                    case TurnEnded(text, start, end):
                        turn_so_far.clear()
                        await self.live.emit(TurnEndOut(text=text))
                        self.on_answer(AnswerFinished(text, round(start + off, 3), round(end + off, 3)))
            except Exception:  # one event that cannot be delivered must not end the candidate's audio
                log.exception("interview %s: failed to relay %s", self.live.interview_id, event)
