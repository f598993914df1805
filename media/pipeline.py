"""One candidate's audio stream → media events: validate, resample, Silero VAD, segments, ASR, end of turn.

Speech is cut into segments at VAD pauses and each closed segment is transcribed once (its final); partials
run
only on the open segment and only when the shared engine has room. Everything is timed on the audio clock.

How a segment ends (all thresholds in `EndpointingConfig`):
  speech … silence ≥ speculate_after_s (150 ms): the segment's final pass starts now, speculatively
          … speech again before segment_pause_s: that pass is dropped and the segment goes on
          … silence ≥ segment_pause_s: the segment is closed and its (usually already finished) pass is its
          final
          … silence ≥ what the turn's words call for (see endpointing.py): the turn ends.
So at the end of a turn the last final is normally ready before the turn-end silence has even elapsed, and the
candidate waits only for that silence, not for ASR. A turn of several segments is then decoded again from its whole
audio at the engine's revision priority (media/turn_audio.py says why) and a `TurnRevised` follows its `TurnEnded`.

Resampling and VAD run on the VAD model's few shared threads (`SileroVad.executor`), one frame of a stream at a
time and in order; the segment and turn logic after them is light and stays on the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator

import numpy as np

from media.asr import ASREngine, Transcript
from media.audio_format import AudioFormat
from media.endpointing import EndOfTurnDetector, EndpointingConfig
from media.events import (
    MediaEvent,
    SpeechStarted,
    SpeechStopped,
    TranscriptFinal,
    TranscriptPartial,
    TurnEnded,
    TurnRevised,
)
from media.resample import StreamResampler
from media.segment import Segment, join_words
from media.turn_audio import TurnAudio, pieces
from media.vad import SAMPLE_RATE, WINDOW, WINDOW_S, SileroVad

log = logging.getLogger(__name__)

_PROMPT_CHARS = 200  # committed text fed back to Whisper as context; more buys nothing and costs decoder time
# A turn longer than this keeps its live transcript: its audio (32 KB/s) is not held for a second pass.
REVISE_UP_TO_S = 120.0


class PipelineClosed(RuntimeError):
    """push()/flush() after close()."""


class AudioPipeline:
    """One per candidate stream. All methods are coroutines run on one event loop; none is thread-safe (the
    per-frame DSP they hand to the executor touches only this stream's resampler and VAD state, one frame at a
    time).

    Events: iterate `events()` (an async iterator that ends after `close()`), or take what is queued now with
    `pending_events()`. Order: SpeechStarted, partials, SpeechStopped, a segment's final, …, a turn's finals,
    its
    TurnEnded. The event queue is unbounded but grows only with speech (a few events per second of it).

    Back-pressure: `push()` returns only when the audio is accounted for. It waits (a) when more than
    `max_pending_finals` closed segments are still being transcribed, and (b) when a turn-end decision needs
    the
    text of a segment that is still being transcribed. A client sending faster than real time is therefore
    slowed
    to the engine's pace (the transport should await push before reading the next frame); memory stays
    bounded.
    """

    def __init__(
        self,
        engine: ASREngine,
        vad: SileroVad,
        language: str,
        fmt: AudioFormat,
        config: EndpointingConfig | None = None,
        *,
        max_pending_finals: int = 4,
        revise_up_to_s: float = REVISE_UP_TO_S,
    ) -> None:
        """`revise_up_to_s`: turns of up to this many seconds are decoded again once over (0: never)."""
        engine.check_language(language)  # raises UnsupportedLanguage
        self.engine = engine
        self.language = language
        self.fmt = fmt.validate()  # raises UnsupportedAudio
        self.config = config or EndpointingConfig.for_language(language)
        self.detector = EndOfTurnDetector(self.config, language)
        self.max_pending_finals = max_pending_finals
        self._resampler = StreamResampler(fmt)
        self._vad = vad.stream()
        self._executor = vad.executor
        # The frame in the executor: a cancelled push() leaves it running, and the next must not overlap it.
        self._dsp_running: cf.Future[tuple[np.ndarray, np.ndarray]] | None = None
        self._events: asyncio.Queue[MediaEvent | None] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self._closed = False
        self._windows_done = 0  # the audio clock, in VAD windows
        self._min_speech = max(1, round(self.config.min_speech_s / WINDOW_S))
        self._preroll_n = max(1, round(self.config.preroll_s / WINDOW_S))
        # The windows before a segment opens, with their speech probabilities: enough to reach preroll_s before
        # the first speech window of the onset even when earlier speech, bridged over dips, leads up to it.
        self._preroll: deque[tuple[np.ndarray, float]] = deque(
            maxlen=self._preroll_n + self._min_speech + round(1.0 / WINDOW_S)
        )
        self._onset = 0  # consecutive speech windows while not in a segment
        self._silence = 0  # consecutive silent windows inside the open segment
        self._seg: Segment | None = None
        self._closed_segs: deque[Segment] = deque()  # closed, final not yet emitted, in time order
        self._turn: list[Segment] = []  # closed segments of the turn in progress
        self._committed: list[str] = []  # emitted finals, for the prompt
        self._key = object()  # identifies this stream's partials to the engine
        self.revise_up_to_s = revise_up_to_s
        self._recording: TurnAudio | None = None  # the turn in progress, from its first segment's start
        self._turn_prompt = ""  # the context its first segment was decoded with
        self._revising: set[asyncio.Future[None]] = set()

    # -- public API --------------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """Seconds of audio processed so far."""
        return self._windows_done * WINDOW_S

    async def push(self, pcm: bytes) -> None:
        """Takes PCM of any length. Raises FrameError (not whole samples; the stream goes on) or PipelineClosed."""
        if self._closed:
            raise PipelineClosed("the audio stream is closed")
        if not self.fmt.check_frame(pcm):
            return
        async with self._lock:
            await self._feed(*await self._dsp(pcm))

    async def flush(self) -> None:
        """End of the candidate's audio (or of the answer): finishes the open segment and ends the turn
        now.
        """
        if self._closed:
            raise PipelineClosed("the audio stream is closed")
        async with self._lock:
            await self._feed(*await self._dsp(None))
            seg = self._seg
            if seg is not None:
                self._close_segment(seg, stopped=True)
            if self._turn:
                await self._end_turn()

    async def settled(self) -> None:
        """Returns once every revision queued so far has been emitted or dropped (for tests and benches)."""
        while self._revising:
            await asyncio.wait(set(self._revising))

    def events(self) -> AsyncIterator[MediaEvent]:
        return self._iter_events()

    def pending_events(self) -> list[MediaEvent]:
        out: list[MediaEvent] = []
        while not self._events.empty():
            ev = self._events.get_nowait()
            if ev is not None:
                out.append(ev)
        return out

    async def close(self) -> None:
        """Drops work in flight (no more events) and ends `events()`. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for seg in [self._seg, *self._closed_segs]:
            if seg is not None:
                for fut in (seg.final, seg.partial):
                    if fut is not None:
                        fut.cancel()
        for task in self._revising:
            task.cancel()
        self._seg = None
        self._closed_segs.clear()
        self._turn.clear()
        self._recording = None
        self._events.put_nowait(None)

    # -- audio → windows → segments ------------------------------------------------------------------------

    async def _iter_events(self) -> AsyncIterator[MediaEvent]:
        while True:
            ev = await self._events.get()
            if ev is None:
                return
            yield ev

    def _emit(self, ev: MediaEvent) -> None:
        if not self._closed:
            self._events.put_nowait(ev)

    async def _dsp(self, pcm: bytes | None) -> tuple[np.ndarray, np.ndarray]:
        """One frame (None: what the resampler still holds) resampled and through VAD, on the DSP threads:
        (windows [n, 512], speech probabilities [n]) of the windows it completed."""
        if self._dsp_running is not None and not self._dsp_running.done():
            await asyncio.wait([asyncio.wrap_future(self._dsp_running)])
        self._dsp_running = self._executor.submit(self._resample_and_detect, pcm)
        return await asyncio.wrap_future(self._dsp_running)

    def _resample_and_detect(self, pcm: bytes | None) -> tuple[np.ndarray, np.ndarray]:
        audio = self._resampler.drain() if pcm is None else self._resampler.process(pcm)
        if len(audio) == 0:
            return np.zeros((0, WINDOW), np.float32), np.zeros(0, np.float32)
        return self._vad.process(audio)

    async def _feed(self, windows: np.ndarray, probs: np.ndarray) -> None:
        for win, p in zip(windows, probs, strict=True):
            self._windows_done += 1
            await self._on_window(win, float(p))
        # Back-pressure (a): a flood of short segments must not queue unbounded ASR work and audio.
        while sum(1 for s in self._closed_segs if s.final is not None and not s.final.done()) > self.max_pending_finals:
            oldest = next(s for s in self._closed_segs if s.final is not None and not s.final.done())
            await self._wait(oldest)

    async def _on_window(self, win: np.ndarray, p: float) -> None:
        cfg = self.config
        seg = self._seg
        if self._recording is not None:
            self._recording.add(win)
        if seg is None:
            self._preroll.append((win, p))
            self._onset = self._onset + 1 if p >= cfg.vad_threshold else 0
            if self._onset >= self._min_speech:
                self._open_segment()
            elif self._turn:
                await self._maybe_end_turn()
            return
        seg.windows.append(win)
        seg.probs.append(p)
        if p >= cfg.vad_threshold:
            if self._silence and seg.final is not None:
                # Speech resumed before the pause closed the segment: the speculative pass is short of audio.
                seg.final.cancel()
                seg.final = None
            self._silence = 0
            seg.speech_end = self.now
        elif p < cfg.vad_neg_threshold or self._silence:
            self._silence += 1
        silence_s = self._silence * WINDOW_S
        long = len(seg.windows) * WINDOW_S >= cfg.long_segment_s
        if silence_s >= (cfg.long_segment_pause_s if long else cfg.segment_pause_s):
            self._close_segment(seg, stopped=True)
        elif silence_s >= cfg.speculate_after_s and seg.final is None:
            self._submit_final(seg)
        elif len(seg.windows) * WINDOW_S >= cfg.max_segment_s:
            self._cut_long_segment(seg)
        elif self._silence == 0:
            self._maybe_partial(seg)

    def _open_segment(self) -> None:
        cfg = self.config
        history = list(self._preroll)
        # The onset is the first window of the min_speech run, or earlier speech joined to it across dips of at
        # most onset_bridge_s: the run only confirms speech that may have begun a word or two before it.
        first = len(history) - self._onset
        bridge = round(cfg.onset_bridge_s / WINDOW_S)
        gap = 0
        for k in range(first - 1, -1, -1):
            if history[k][1] >= cfg.vad_threshold:
                first, gap = k, 0
            else:
                gap += 1
                if gap > bridge:
                    break
        onset_at = self.now - (len(history) - first) * WINDOW_S
        # preroll_s counts back from the window that confirmed speech, as it always did (leading audio changes
        # what Whisper hears: 0.2 s before the onset itself gave WER 0.128 against 0.108 on backend_en), so a
        # bridged onset keeps the same lead before its first word as an unbridged one.
        lead = max(1, self._preroll_n - self._min_speech)
        windows = [w for w, _ in history[max(0, first - lead) :]]
        seg = Segment(start=max(0.0, self.now - len(windows) * WINDOW_S), windows=windows)
        seg.probs = [1.0] * len(windows)
        seg.speech_end = self.now
        self._seg = seg
        if self._recording is None and self.revise_up_to_s > 0:
            self._recording = TurnAudio(seg.start, self.revise_up_to_s)
            for w in windows:
                self._recording.add(w)
            self._turn_prompt = self._prompt()
        self._preroll.clear()
        self._onset = 0
        self._silence = 0
        self._emit(SpeechStarted(at=round(onset_at, 3)))

    def _prompt(self) -> str:
        return (
            " ".join(self._committed)[-_PROMPT_CHARS:]
            if self.language != "zh"
            else "".join(self._committed)[-_PROMPT_CHARS // 2 :]
        )

    def _submit_final(self, seg: Segment) -> None:
        seg.final = self.engine.submit(seg.audio(), self.language, self._prompt(), key=self._key)
        seg.final_windows = len(seg.windows)

    def _close_segment(self, seg: Segment, *, stopped: bool) -> None:
        if seg.final is None or (
            seg.final_windows != len(seg.windows) and self._silence * WINDOW_S < self.config.speculate_after_s
        ):
            # No pass yet, or speech ran on after it (flush, or a cut): transcribe everything we have.
            if seg.final is not None:
                seg.final.cancel()
            self._submit_final(seg)
        if seg.partial is not None:
            seg.partial.cancel()
        seg.windows, seg.probs = [], []  # the final is queued with its own copy of the audio
        self._seg = None
        self._silence = 0
        self._closed_segs.append(seg)
        self._turn.append(seg)
        assert seg.final is not None
        asyncio.wrap_future(seg.final).add_done_callback(lambda _f: self._emit_ready_finals())
        if stopped:
            self._emit(SpeechStopped(at=round(seg.speech_end, 3)))

    def _cut_long_segment(self, seg: Segment) -> None:
        """A segment this long has no real pause: cut it at its quietest window of the last 3 s and go on."""
        look = min(len(seg.probs) - 1, round(3.0 / WINDOW_S))
        tail = seg.probs[-look:]
        cut = len(seg.probs) - look + int(np.argmin(tail)) + 1
        rest_w, rest_p = seg.windows[cut:], seg.probs[cut:]
        seg.windows, seg.probs = seg.windows[:cut], seg.probs[:cut]
        seg.speech_end = seg.start + cut * WINDOW_S
        if seg.final is not None:
            seg.final.cancel()
            seg.final = None
        self._close_segment(seg, stopped=False)
        nxt = Segment(start=seg.speech_end, windows=rest_w, probs=rest_p, speech_end=self.now)
        self._seg = nxt

    # -- partials ----------------------------------------------------------------------------------------

    def _maybe_partial(self, seg: Segment) -> None:
        every = round(self.config.partial_interval_s / WINDOW_S)
        if seg.partial is not None or len(seg.windows) - seg.partial_asked_at < every:
            return
        seg.partial_asked_at = len(seg.windows)
        fut = self.engine.submit_partial(seg.audio(), self.language, self._prompt(), key=self._key)
        if fut is None:
            return  # the engine is busy: skip this one, try again after another interval
        seg.partial = fut
        end = seg.start + len(seg.windows) * WINDOW_S
        asyncio.wrap_future(fut).add_done_callback(lambda f: self._on_partial(seg, fut, f, end))

    def _on_partial(
        self, seg: Segment, fut: cf.Future[Transcript], done: asyncio.Future[Transcript], end: float
    ) -> None:
        if seg.partial is fut:
            seg.partial = None
        if done.cancelled() or done.exception() is not None or self._seg is not seg or self._closed:
            return
        caption = seg.agree(done.result().text, self.language)
        if caption is not None:
            self._emit(TranscriptPartial(text=caption, start=round(seg.start, 3), end=round(end, 3)))

    # -- finals and turns --------------------------------------------------------------------------------

    def _emit_ready_finals(self) -> None:
        """Emits finals in time order: a finished later segment waits for an earlier one still in the
        engine.
        """
        while self._closed_segs and self._closed_segs[0].final is not None and self._closed_segs[0].final.done():
            seg = self._closed_segs.popleft()
            fut = seg.final
            assert fut is not None
            if fut.cancelled():
                seg.text = ""
            elif fut.exception() is not None:
                log.error("ASR failed for a segment: %r", fut.exception())
                seg.text = ""
            else:
                seg.text = fut.result().text.strip()
            seg.emitted = True
            if seg.text:
                self._committed.append(seg.text)
                del self._committed[:-8]
                self._emit(TranscriptFinal(text=seg.text, start=round(seg.start, 3), end=round(seg.speech_end, 3)))

    async def _wait(self, seg: Segment) -> None:
        if seg.final is not None:
            # A failed or cancelled pass is reported (as an empty final) by _emit_ready_finals.
            with contextlib.suppress(cf.CancelledError, Exception):
                await asyncio.wrap_future(seg.final)
        self._emit_ready_finals()

    def _turn_text(self) -> str:
        return join_words([s.text for s in self._turn if s.text], self.language)

    async def _maybe_end_turn(self) -> None:
        silence_s = self.now - self._turn[-1].speech_end
        if silence_s < self.config.complete_silence_s:
            return
        if any(not s.emitted for s in self._turn):
            # Back-pressure (b): the decision needs this turn's words; wait for them on the audio clock, so a
            # stream pushed faster than real time gets the same decision as one pushed in real time.
            for s in self._turn:
                if not s.emitted:
                    await self._wait(s)
        if self.detector.turn_is_over(silence_s, self._turn_text()):
            await self._end_turn()

    async def _end_turn(self) -> None:
        for s in self._turn:
            if not s.emitted:
                await self._wait(s)
        text = self._turn_text()
        turn, self._turn = self._turn, []
        recording, self._recording = self._recording, None
        if len(text) >= self.config.min_turn_chars:
            start, end = round(turn[0].start, 3), round(turn[-1].speech_end, 3)
            # One segment was already decoded whole, with the same context.
            revising = recording is not None and not recording.overflowed and len(turn) > 1 and not self._closed
            self._emit(TurnEnded(text=text, start=start, end=end, revising=revising))
            if revising:
                assert recording is not None
                self._revise(recording, turn, text, start, end)

    def _revise(self, recording: TurnAudio, turn: list[Segment], text: str, start: float, end: float) -> None:
        """Queue the finished turn again, in pieces cut where its segments meet, each with the words before it as
        context; `TurnRevised` follows when every piece is back."""
        futures = []
        before = self._turn_prompt
        for piece in pieces([(s.start, s.speech_end) for s in turn], recording.start):
            audio = recording.samples(piece.begin, piece.end)
            futures.append(self.engine.submit_revision(audio, self.language, before, key=self._key))
            said = [s.text for s in turn[piece.first : piece.last + 1] if s.text]
            before = self._context(before, said)
        task = asyncio.ensure_future(self._revised(futures, text, start, end))
        self._revising.add(task)
        task.add_done_callback(self._revising.discard)

    def _context(self, before: str, said: list[str]) -> str:
        if self.language == "zh":
            return (before + "".join(said))[-_PROMPT_CHARS // 2 :]
        return " ".join([before, *said]).strip()[-_PROMPT_CHARS:]

    async def _revised(self, futures: list[cf.Future[Transcript]], text: str, start: float, end: float) -> None:
        try:
            results = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
        except asyncio.CancelledError:
            for f in futures:
                f.cancel()
            raise
        except Exception as exc:  # the live transcript stands; a failed second pass loses nothing
            log.warning("revising a finished turn failed: %r", exc)
            return
        revised = join_words([r.text.strip() for r in results if r.text.strip()], self.language)
        self._emit(TurnRevised(text=revised or text, start=start, end=end))

    # for tests and the bench
    @property
    def open_audio_s(self) -> float:
        return (len(self._seg.windows) if self._seg else 0) * WINDOW / SAMPLE_RATE
