"""Prometheus metrics of one app (GET /metrics, HR key): its own CollectorRegistry, so several apps in one process
stay apart; the turn-latency histogram, client errors by code, audio refused by the rate limit, observers and live
sessions, the shared ASR engine's totals and queue, the event-loop probe.

Each app provides its `Metrics` as a dependency; the streams it serves are handed it. Nothing here is global.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from media.asr import WAIT_BUCKETS, ASREngine, QueueWaits
from server.auth import role_guard
from server.errors import errors
from server.runtime import Runtime
from server.stream.observer import ObserverSeats
from server.stream.registry import LiveInterviews

# A turn is what the candidate waits through in silence: a second feels slow, three feel broken.
TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 60.0)
TURN_PARTS = ("asr_final", "decision", "question_sent")


class Metrics:
    """One app's metrics. Live gauges (sessions, ASR totals and queue) are read when scraped; the rest is recorded
    as it happens by the streams (`turn`, `client_error`, `audio_frame_refused`), the observer seats and the
    event-loop probe."""

    def __init__(self, *, probe_period_s: float = 0.1, probe_window_s: float = 10.0) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.live_sessions = Gauge(
            "shanmian_live_sessions", "Interviews running on this node now.", registry=self.registry
        )
        self.observers = Gauge(
            "shanmian_observers_connected", "Observer connections open on this node now.", registry=self.registry
        )
        self.scoring_backlog = Gauge(
            "shanmian_scoring_backlog",
            "Answers waiting for the scoring model now (a closing session's go first; the one being read is not counted).",
            registry=self.registry,
        )
        self.scoring_threads = Gauge(
            "shanmian_scoring_threads",
            "Threads the scoring model uses for its next answer: all usable cores (up to 4) while no voice interview "
            "runs, SHANMIAN_SCORE_THREADS while one does.",
            registry=self.registry,
        )
        self.turn_latency = Histogram(
            "shanmian_turn_latency_seconds",
            "From the end of the candidate's answer (speech stopped, or a typed answer received) to the next "
            "question sent.",
            buckets=TURN_BUCKETS,
            registry=self.registry,
        )
        self.turn_part = Histogram(
            "shanmian_turn_part_seconds",
            "Parts of a turn's latency: asr_final (speech stopped to the turn's final transcript, end-of-turn "
            "wait included; voice only), decision (the interviewer choosing and wording the next question), "
            "question_sent (storing the turn and sending the question).",
            ["part"],
            buckets=TURN_BUCKETS,
            registry=self.registry,
        )
        self.client_errors = Counter(
            "shanmian_client_errors",
            "Errors sent to clients, by protocol code: stream = an `error` message on the candidate stream, "
            "http = a REST error answer.",
            ["channel", "code"],
            registry=self.registry,
        )
        self.audio_refused = Counter(
            "shanmian_audio_frames_refused",
            "Binary audio frames dropped because a candidate connection sent audio faster than the rate limit "
            "(twice real time plus a short burst).",
            registry=self.registry,
        )
        self.loop_stall = Gauge(
            "shanmian_event_loop_stall_seconds",
            f"The longest lateness of a {probe_period_s * 1000:.0f} ms timer on the event loop over the last "
            f"{probe_window_s:.0f} to {2 * probe_window_s:.0f} s: how long the loop was blocked.",
            registry=self.registry,
        )
        self._asr = _AsrTotals()
        self.registry.register(self._asr)
        self._probe_period_s = probe_period_s
        self._probe_window_s = probe_window_s
        self._probe: asyncio.Task[None] | None = None

    # --- recorded by the streams ------------------------------------------------------------------------

    def turn(self, total_s: float, **parts: float | None) -> None:
        """One turn: its latency and whichever of its parts (TURN_PARTS) were measured."""
        self.turn_latency.observe(max(0.0, total_s))
        for part, seconds in parts.items():
            if seconds is not None:
                self.turn_part.labels(part=part).observe(max(0.0, seconds))

    def client_error(self, channel: str, code: str) -> None:
        self.client_errors.labels(channel=channel, code=code).inc()

    def audio_frame_refused(self) -> None:
        self.audio_refused.inc()

    # --- scraped -------------------------------------------------------------------------------------------

    def render(
        self,
        accept: str,
        *,
        live_sessions: int,
        asr: ASREngine | None,
        scoring_backlog: int = 0,
        scoring_threads: int = 0,
    ) -> tuple[bytes, str]:
        """The exposition for a scrape (the Prometheus text format, OpenMetrics if asked) and its content type."""
        self.live_sessions.set(live_sessions)
        self.scoring_backlog.set(scoring_backlog)
        self.scoring_threads.set(scoring_threads)
        self._asr.engine = asr
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type

    # --- wiring into the app ---------------------------------------------------------------------------------

    def observer_seats(self, per_interview: int) -> ObserverSeats:
        return _CountedSeats(per_interview, self.observers)

    def exception_handler(self, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        """`handler` (one of server.errors'), counting each error answer by its code."""

        def counted(request: Any, exc: Any) -> Any:
            response = handler(request, exc)
            error = getattr(getattr(response, "content", None), "error", None)
            self.client_error("http", getattr(error, "code", "http_error"))
            return response

        return counted

    async def start(self) -> None:
        self._probe = asyncio.create_task(self._probe_loop(), name="shanmian-loop-probe")

    async def stop(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
            self._probe = None

    async def _probe_loop(self) -> None:
        """Sleeps `probe_period_s` again and again; how much later than asked it wakes is the time the loop was
        busy elsewhere. The gauge keeps the worst of this window and the last, so a scrape does not miss one."""
        loop = asyncio.get_running_loop()
        previous = current = 0.0
        window_ends = loop.time() + self._probe_window_s
        while True:
            asked = loop.time()
            await asyncio.sleep(self._probe_period_s)
            now = loop.time()
            current = max(current, now - asked - self._probe_period_s)
            if now >= window_ends:
                previous, current = current, 0.0
                window_ends = now + self._probe_window_s
            self.loop_stall.set(max(previous, current))


class _CountedSeats(ObserverSeats):
    """The observer seats, also counting the connections open on this node."""

    def __init__(self, per_interview: int, gauge: Gauge) -> None:
        super().__init__(per_interview)
        self._gauge = gauge

    def take(self, interview_id: str) -> bool:
        taken = super().take(interview_id)
        if taken:
            self._gauge.inc()
        return taken

    def release(self, interview_id: str) -> None:
        super().release(interview_id)
        self._gauge.dec()


class _AsrTotals(Collector):
    """The shared ASR engine's own running totals and its queue (depth now, waits so far), read when scraped."""

    def __init__(self) -> None:
        self.engine: ASREngine | None = None

    def describe(self) -> Iterable[Metric]:
        return list(self._families(None))

    def collect(self) -> Iterable[Metric]:
        return list(self._families(self.engine))

    @staticmethod
    def _families(engine: ASREngine | None) -> Iterator[Metric]:
        stats = engine.stats if engine is not None else None
        for name, doc, value in (
            ("shanmian_asr_busy_seconds", "Seconds the ASR workers spent decoding.", "busy_s"),
            ("shanmian_asr_audio_seconds", "Seconds of audio the ASR workers decoded.", "audio_s"),
            ("shanmian_asr_finals", "Final transcriptions decoded.", "finals"),
            (
                "shanmian_asr_partials_refused",
                "Partial transcriptions refused because finals were waiting or too many partials were queued.",
                "partials_refused",
            ),
        ):
            family = CounterMetricFamily(name, doc)
            if stats is not None:
                family.add_metric([], float(getattr(stats, value)))
            yield family
        queue = engine.queue() if engine is not None else None
        depth = GaugeMetricFamily(
            "shanmian_asr_queue_depth",
            "ASR requests waiting for a worker now, by kind (final: a closed segment; revision: a finished turn "
            "decoded again for the stored answer; partial: a caption).",
            labels=["kind"],
        )
        wait = HistogramMetricFamily(
            "shanmian_asr_queue_wait_seconds",
            "How long ASR requests waited for a worker, by kind; sessions are served in turn.",
            labels=["kind"],
        )
        if queue is not None:
            depth.add_metric(["final"], queue.finals_waiting)
            depth.add_metric(["revision"], queue.revisions_waiting)
            depth.add_metric(["partial"], queue.partials_waiting)
            for kind, waits in (("final", queue.final_waits), ("partial", queue.partial_waits)):
                wait.add_metric([kind], _buckets(waits), waits.sum_s)
        yield depth
        yield wait


def _buckets(waits: QueueWaits) -> list[tuple[str, float]]:
    """Prometheus histogram buckets (cumulative, ending with +Inf = the count) of a queue-wait histogram."""
    bounds = [(str(bound), float(n)) for bound, n in zip(WAIT_BUCKETS, waits.cumulative, strict=True)]
    return [*bounds, ("+Inf", float(waits.count))]


@get("/metrics", guards=[role_guard], tags=["ops"], responses=errors(401), media_type="text/plain")
async def metrics_endpoint(
    request: Request[Any, Any, Any],
    metrics: NamedDependency[Metrics],
    live_interviews: NamedDependency[LiveInterviews],
    runtime: NamedDependency[Runtime],
) -> Response[bytes]:
    """This node's metrics in the Prometheus text format (OpenMetrics when the scraper asks for it); HR key.

    The names and their meaning: docs/operations.md."""
    reader = runtime.answer_judge.reader
    body, content_type = metrics.render(
        request.headers.get("accept", ""),
        live_sessions=len(live_interviews),
        asr=runtime.asr,
        scoring_backlog=reader.queue.depth if reader is not None else 0,
        scoring_threads=runtime.scoring_threads() if runtime.scorer is not None else 0,
    )
    return Response(body, media_type=content_type)


def now() -> float:
    """The clock turn latencies are measured with."""
    return time.monotonic()
