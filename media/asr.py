"""The process-wide recogniser: one bounded worker pool and a priority queue in front of the Whisper models.

Every session's ASR work goes through one `ASREngine`: finals first, then revisions (a finished turn decoded again
as a whole, media/turn_audio.py), then partials, sessions served in turn (media/fair_queue.py), requests of the
same kind and language batched into one encoder/decoder call (decoded by media/whisper.py), partials refused when
the engine is behind.

Why not `WhisperModel.transcribe` per request: it always pads the encoder input to a 30 s window (a fixed
~0.45 s here, however short the audio) and takes one audio at a time. We use the same model's feature
extractor, tokenizer and CTranslate2 `Whisper` directly so that (measured on backend_en, tiny.en int8, 2 cores,
one pass per clip) a window padded only to the audio + 0.5 s costs RTF 0.028 instead of 0.059 *and* lowers WER
(0.107 against 0.166 with 30 s padding, where tiny.en hallucinates into the silence), and so that 8 windows
decode in one `generate` call (16 × 4 s pieces: 1.41 s one by one, 0.63 s in batches of 8).
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from media.fair_queue import FairQueue
from media.whisper import HOP, MAX_FRAMES, SAMPLE_RATE, WhisperDecoder, resolve_model_path

log = logging.getLogger(__name__)


DEFAULT_MODELS: Mapping[str, str] = {"en": "whisper-tiny.en", "zh": "whisper-base"}
# Bounds (seconds) of the queue-wait histogram: a final normally waits less than a batch's decode (~0.1-0.5 s);
# seconds mean the engine is saturated and every answer waits that long on top.
WAIT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)


class UnsupportedLanguage(ValueError):
    """No ASR model is configured for the requested language."""


class EngineClosed(RuntimeError):
    """The engine was shut down; no more requests are taken."""


@dataclass(frozen=True, slots=True)
class ASRConfig:
    """How the shared engine runs. `models` maps a language to a manifest name or any CTranslate2 Whisper
    dir.
    """

    models: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_MODELS))
    compute_type: str = "int8"
    # Threads of the one executor, each running one batch at a time. Two one-thread workers let one candidate's
    # final start while another's decodes (bench/capacity.py: p95 at 4 sessions 1.45 s against 2.07 s for one
    # two-thread worker, and no worse for one session).
    workers: int = 2
    cpu_threads: int = 1  # CTranslate2 threads per worker; workers * cpu_threads ≈ the cores ASR may use
    max_batch: int = 8
    # Beam search for finals (through the pipeline on backend_en: WER 0.108 at beam 5 against 0.146 at beam 1,
    # for about 1.5x the decode time); partials are thrown away soon, so they decode greedily.
    beam_size: int = 5
    partial_beam_size: int = 1
    # The encoder window: the audio + pad_s of silence, at least min_window_s (faster-whisper: always 30 s).
    # A window only just longer than a short segment makes tiny.en loop ("I do is... I do is..."). Through
    # the pipeline on backend_en, beam 1: pad 0.5 s WER 0.27, pad 2 s 0.18, pad 1 s + 10 s floor 0.146, and
    # 30 s 0.150 at 2.5x the encoder time.
    pad_s: float = 1.0
    min_window_s: float = 10.0
    # Partials are re-decoded every ~0.5 s: a smaller floor keeps their encoder cost (whisper-base for zh) low.
    partial_min_window_s: float = 4.0
    full_window: bool = False  # True: pad every window to 30 s, as `WhisperModel.transcribe` does (for A/B)
    max_partial_queue: int = 8  # partial requests waiting beyond this are refused (the caller just skips one)
    partial_max_wait_s: float = 1.0  # a partial that waited longer than this is stale: dropped, not decoded
    no_speech_threshold: float = 0.6  # with logprob_threshold: Whisper's own test for "this was not speech"
    logprob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4  # above: a repetition loop; decoded again with n-gram blocking
    tokens_per_s: float = 16.0  # cap on decoded tokens per second of audio (+16), so a loop cannot run to 448


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str  # zh already in Simplified characters
    language: str
    audio_s: float
    no_speech_prob: float
    avg_logprob: float
    batch_size: int  # how many requests shared the encoder/decoder call
    compute_s: float  # wall time of that call


@dataclass(eq=False)
class _Request:
    audio: np.ndarray
    language: str
    prompt: str
    final: bool
    key: object
    seq: int
    enqueued: float
    revision: bool = False
    future: cf.Future[Transcript] = field(default_factory=cf.Future)


@dataclass
class EngineStats:
    batches: int = 0
    finals: int = 0
    revisions: int = 0
    partials: int = 0
    partials_refused: int = 0
    partials_stale: int = 0
    audio_s: float = 0.0
    busy_s: float = 0.0

    def snapshot(self) -> dict[str, float]:
        return dict(vars(self))


@dataclass
class _Waits:
    """How long requests of one kind waited in the queue before a worker took them, in WAIT_BUCKETS."""

    counts: list[int] = field(default_factory=lambda: [0] * len(WAIT_BUCKETS))  # per bucket, not cumulative
    count: int = 0
    sum_s: float = 0.0

    def observe(self, seconds: float) -> None:
        for i, bound in enumerate(WAIT_BUCKETS):
            if seconds <= bound:
                self.counts[i] += 1
                break
        self.count += 1
        self.sum_s += seconds


@dataclass(frozen=True, slots=True)
class QueueWaits:
    """A wait histogram as Prometheus counts it: `cumulative[i]` requests waited at most WAIT_BUCKETS[i]."""

    cumulative: tuple[int, ...]
    count: int
    sum_s: float


@dataclass(frozen=True, slots=True)
class QueueState:
    """The engine's queue now (requests waiting for a worker), and every wait so far, by kind."""

    finals_waiting: int
    partials_waiting: int
    revisions_waiting: int
    final_waits: QueueWaits
    partial_waits: QueueWaits


class ASREngine:
    """One per process. Thread-safe; `submit*` may be called from the event loop or any thread.

    Work runs on one bounded `ThreadPoolExecutor` (`config.workers` threads). A worker takes the most urgent
    request (finals first, then revisions, then partials; within a kind, streams in turn by their `key`, each
    stream's oldest first) plus up to `max_batch - 1` more of the same kind and language in the same turn order, and
    decodes them together. Partials are best effort: refused when finals are waiting or the partial queue is full,
    replaced by a newer partial of the same stream, dropped when stale. Finals and revisions are never refused or
    dropped; a revision waits while any final does, so it never delays a candidate's next question.
    """

    def __init__(self, config: ASRConfig | None = None) -> None:
        self.config = config or ASRConfig()
        self.stats = EngineStats()
        self._lock = threading.Lock()
        # Requests waiting for a worker, each kind served round-robin across streams.
        self._finals: FairQueue[object, _Request] = FairQueue(lambda r: r.key)
        self._partials: FairQueue[object, _Request] = FairQueue(lambda r: r.key)
        self._revisions: FairQueue[object, _Request] = FairQueue(lambda r: r.key)
        self._final_waits = _Waits()
        self._partial_waits = _Waits()
        self._running = 0
        self._closed = False
        self._seq = itertools.count()
        self._models: dict[str, WhisperDecoder] = {}
        self._model_locks = {lang: threading.Lock() for lang in self.config.models}
        self._executor = cf.ThreadPoolExecutor(max_workers=self.config.workers, thread_name_prefix="asr")

    # -- public API --------------------------------------------------------------------------------------

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.config.models)

    def check_language(self, language: str) -> None:
        if language not in self.config.models:
            raise UnsupportedLanguage(
                f"no ASR model for language {language!r}; configured: {', '.join(self.config.models)}"
            )

    def preload(self, *languages: str) -> None:
        """Loads (and for embedded models verifies) the models now instead of on the first request.
        Blocking.
        """
        for lang in languages or self.languages:
            self._model(lang)

    def submit(
        self, audio: np.ndarray, language: str, prompt: str = "", *, key: object = None
    ) -> cf.Future[Transcript]:
        """Queues a final transcription of 16 kHz float32 mono `audio` (≤ 30 s). Never refused while open."""
        return self._enqueue(audio, language, prompt, final=True, key=key)

    def submit_revision(
        self, audio: np.ndarray, language: str, prompt: str = "", *, key: object = None
    ) -> cf.Future[Transcript]:
        """Queues a final-quality transcription that nobody is waiting on (a finished turn decoded again): taken
        only when no final is waiting. Never refused while open."""
        return self._enqueue(audio, language, prompt, final=True, key=key, revision=True)

    def submit_partial(
        self, audio: np.ndarray, language: str, prompt: str = "", *, key: object = None
    ) -> cf.Future[Transcript] | None:
        """Queues a partial if the engine has room, else returns None. The future may be cancelled (stale)."""
        with self._lock:
            if key is not None:
                # A newer partial of the same stream makes the queued one pointless.
                for old in self._partials.of(key):
                    old.future.cancel()
                    self._partials.remove(old)
            if len(self._finals) or len(self._partials) >= self.config.max_partial_queue:
                self.stats.partials_refused += 1
                return None
        return self._enqueue(audio, language, prompt, final=False, key=key)

    def queue(self) -> QueueState:
        """The queue's depth now and its waits so far (for metrics)."""
        with self._lock:
            return QueueState(
                len(self._finals),
                len(self._partials),
                len(self._revisions),
                _frozen(self._final_waits),
                _frozen(self._partial_waits),
            )

    async def transcribe(self, audio: np.ndarray, language: str, prompt: str = "") -> Transcript:
        """A final transcription, awaited (for one-off use and tests)."""
        import asyncio

        return await asyncio.wrap_future(self.submit(audio, language, prompt))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for queue in (self._finals, self._revisions, self._partials):
                for r in queue.discard_where(lambda _r: True):
                    r.future.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- internals --------------------------------------------------------------------------------------

    def _enqueue(
        self, audio: np.ndarray, language: str, prompt: str, *, final: bool, key: object, revision: bool = False
    ) -> cf.Future[Transcript]:
        self.check_language(language)
        audio = np.asarray(audio, dtype=np.float32)[: MAX_FRAMES * HOP]
        req = _Request(audio, language, prompt, final, key, next(self._seq), time.monotonic(), revision=revision)
        with self._lock:
            if self._closed:
                raise EngineClosed("the ASR engine is closed")
            (self._revisions if revision else self._finals if final else self._partials).push(req)
            if self._running < self.config.workers:
                self._running += 1
                self._executor.submit(self._drain)
        return req.future

    def _take_batch(self) -> list[_Request]:
        """Called with the lock held: the most urgent live request and compatible ones, marked running."""
        now = time.monotonic()
        for r in self._partials.discard_where(lambda r: now - r.enqueued > self.config.partial_max_wait_s):
            r.future.cancel()
            self.stats.partials_stale += 1
        while len(self._finals) or len(self._revisions) or len(self._partials):
            if len(self._finals):
                queue, waits = self._finals, self._final_waits
            elif len(self._revisions):
                queue, waits = self._revisions, None  # nobody waits on a revision: its wait is not a latency
            else:
                queue, waits = self._partials, self._partial_waits
            queue.discard_where(lambda r: r.future.cancelled())
            # A request cancelled since the sweep above is dropped here; if all were, the next ones are tried.
            running = [
                r for r in queue.take(_batches_with, self.config.max_batch) if r.future.set_running_or_notify_cancel()
            ]
            if waits is not None:
                for r in running:
                    waits.observe(now - r.enqueued)
            if running:
                return running
        return []

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch = self._take_batch() if not self._closed else []
                if not batch:
                    self._running -= 1
                    return
            try:
                results = self._decode(batch)
            except BaseException as e:  # a failed decode must fail its requests, never kill the worker
                log.exception("ASR batch of %d failed", len(batch))
                for r in batch:
                    r.future.set_exception(e)
                continue
            for r, t in zip(batch, results, strict=True):
                r.future.set_result(t)

    def _model(self, language: str) -> WhisperDecoder:
        self.check_language(language)
        m = self._models.get(language)
        if m is None:
            with self._model_locks[language]:
                m = self._models.get(language)
                if m is None:
                    path = resolve_model_path(self.config.models[language])
                    t0 = time.monotonic()
                    m = WhisperDecoder(path, self.config, language)
                    log.info("loaded ASR model for %s from %s in %.1fs", language, path, time.monotonic() - t0)
                    self._models[language] = m
        return m

    def _decode(self, batch: list[_Request]) -> list[Transcript]:
        lang = batch[0].language
        m = self._model(lang)
        t0 = time.monotonic()
        decoded = m.decode([(r.audio, r.prompt) for r in batch], final=batch[0].final)
        compute_s = time.monotonic() - t0
        out = [
            Transcript(d.text, lang, len(r.audio) / SAMPLE_RATE, d.no_speech_prob, d.avg_logprob, len(batch), compute_s)
            for r, d in zip(batch, decoded, strict=True)
        ]
        with self._lock:
            self.stats.batches += 1
            self.stats.busy_s += compute_s
            self.stats.audio_s += sum(len(r.audio) for r in batch) / SAMPLE_RATE
            n_revision = sum(r.revision for r in batch)
            n_final = sum(r.final for r in batch) - n_revision
            self.stats.finals += n_final
            self.stats.revisions += n_revision
            self.stats.partials += len(batch) - n_final - n_revision
        return out


def _batches_with(batch: list[_Request], r: _Request) -> bool:
    """Whether `r` may join `batch` (same kind already: each kind has its own queue)."""
    if not batch:
        return True
    head = batch[0]
    # Everything in a batch is padded to its longest window: keep short ones out of long batches.
    return (
        r.language == head.language
        and len(r.audio) <= 2 * len(head.audio) + SAMPLE_RATE
        and len(head.audio) <= 2 * len(r.audio) + SAMPLE_RATE
    )


def _frozen(waits: _Waits) -> QueueWaits:
    cumulative = tuple(sum(waits.counts[: i + 1]) for i in range(len(WAIT_BUCKETS)))
    return QueueWaits(cumulative, waits.count, waits.sum_s)
