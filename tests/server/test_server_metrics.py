"""GET /metrics against a real server, read back with prometheus-client's own parser: the HR key is needed, a typed
interview moves the turn histogram and the live-sessions gauge, errors are counted by code, a spoken answer moves
the ASR queue-wait histogram, audio over the rate limit is counted, a blocked loop shows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import websockets
from prometheus_client.parser import text_string_to_metric_families
from server_testkit import Api, Stream, answer_for, interview_scenario, play, read_wav, silence_until

from server.runtime import Runtime

VOICE_HELLO = {
    "type": "hello",
    "mode": "voice",
    "audio": {"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1},
}


async def scrape(api: Api) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = await api.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return await check()


async def test_metrics_need_the_hr_key(api: Api) -> None:
    r = await api.get("/metrics", auth=False)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert (await Api(api.base, "not-the-key").get("/metrics")).status_code == 401
    assert "shanmian_live_sessions" not in r.text
    # Those refusals are errors sent to a client, counted by code.
    assert value(await scrape(api), "shanmian_client_errors_total", channel="http", code="unauthorized") >= 2


async def test_a_typed_interview_moves_the_turn_histogram_and_the_live_sessions_gauge(
    live_server: Any, api: Api, fixtures_dir: Path, embedded_runtime: Runtime
) -> None:
    before = await scrape(api)
    assert value(before, "shanmian_live_sessions") == 0
    job, clips = interview_scenario(fixtures_dir)
    iv = await api.interview(job)
    candidate = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    await candidate.send({"type": "hello", "mode": "text"})
    question = await candidate.until("question")
    await candidate.send({"type": "answer", "text": "   "})
    assert (await candidate.until("error"))["code"] == "bad_message"
    for _ in range(2):
        await candidate.send({"type": "answer", "text": answer_for(clips, question)})
        question = await candidate.until("question", 30)

    during = await scrape(api)
    assert value(during, "shanmian_live_sessions") == 1
    # No voice interview runs: the scorer has the idle cores, and its backlog is exported.
    assert value(during, "shanmian_scoring_threads") == embedded_runtime.scoring_threads.idle >= 1
    assert ("shanmian_scoring_backlog", frozenset()) in during
    turns = value(during, "shanmian_turn_latency_seconds_count") - value(before, "shanmian_turn_latency_seconds_count")
    assert turns == 2
    assert value(during, "shanmian_turn_latency_seconds_sum") > value(before, "shanmian_turn_latency_seconds_sum")
    for part in ("decision", "question_sent"):
        moved = value(during, "shanmian_turn_part_seconds_count", part=part) - value(
            before, "shanmian_turn_part_seconds_count", part=part
        )
        assert moved == 2, part
    # Typed answers have no speech to transcribe.
    assert value(during, "shanmian_turn_part_seconds_count", part="asr_final") == value(
        before, "shanmian_turn_part_seconds_count", part="asr_final"
    )
    errors = value(during, "shanmian_client_errors_total", channel="stream", code="bad_message") - value(
        before, "shanmian_client_errors_total", channel="stream", code="bad_message"
    )
    assert errors == 1

    observer = await websockets.connect(
        f"{live_server.ws}/v1/interviews/{iv['id']}/observe?token={iv['observer_token']}"
    )

    async def observers(n: int) -> bool:
        return value(await scrape(api), "shanmian_observers_connected") == n

    # The seat is taken by the handler just after the handshake the client saw complete.
    assert await until(lambda: observers(1))
    await observer.close()
    assert await until(lambda: observers(0))

    # The candidate leaves and does not come back: once the reconnect grace is over the session is gone.
    await candidate.ws.close()

    async def no_live_sessions() -> bool:
        return value(await scrape(api), "shanmian_live_sessions") == 0

    assert await until(no_live_sessions, live_server.settings.reconnect_grace_s + 15)


async def test_a_spoken_answer_is_timed_from_the_end_of_speech_with_its_asr_part(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    before = await scrape(api)
    job, clips = interview_scenario(fixtures_dir)
    strong = next(
        c for c in clips if c.get("role") == "answer" and c.get("question") == 1 and c.get("quality") == "strong"
    )
    iv = await api.interview(job, mode="voice")
    candidate = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    await candidate.send(VOICE_HELLO)
    assert (await candidate.until("question"))["index"] == 1
    await play(candidate.ws, read_wav(fixtures_dir / "backend_en" / strong["file"]))
    assert (await silence_until(candidate, ("question",)))["type"] == "question"

    after = await scrape(api)
    for name, labels in (
        ("shanmian_turn_latency_seconds_count", {}),
        ("shanmian_turn_part_seconds_count", {"part": "asr_final"}),
        ("shanmian_turn_part_seconds_count", {"part": "decision"}),
    ):
        assert value(after, name, **labels) - value(before, name, **labels) == 1, (name, labels)
    # The whole wait includes the end-of-turn detection and the final transcript.
    latency = value(after, "shanmian_turn_latency_seconds_sum") - value(before, "shanmian_turn_latency_seconds_sum")
    asr_final = value(after, "shanmian_turn_part_seconds_sum", part="asr_final") - value(
        before, "shanmian_turn_part_seconds_sum", part="asr_final"
    )
    assert 0 < asr_final <= latency
    assert value(after, "shanmian_asr_finals_total") > value(before, "shanmian_asr_finals_total")
    assert value(after, "shanmian_asr_busy_seconds_total") > value(before, "shanmian_asr_busy_seconds_total")
    # Every final waited in the engine's queue, however briefly; each wait is in the histogram.
    waited = value(after, "shanmian_asr_queue_wait_seconds_count", kind="final") - value(
        before, "shanmian_asr_queue_wait_seconds_count", kind="final"
    )
    assert waited >= 1
    assert value(after, "shanmian_asr_queue_wait_seconds_bucket", kind="final", le="+Inf") == value(
        after, "shanmian_asr_queue_wait_seconds_count", kind="final"
    )
    assert value(after, "shanmian_asr_queue_wait_seconds_sum", kind="final") >= value(
        before, "shanmian_asr_queue_wait_seconds_sum", kind="final"
    )
    for kind in ("final", "partial"):
        assert ("shanmian_asr_queue_depth", frozenset({("kind", kind)})) in after, kind
    await candidate.ws.close()


async def test_audio_over_the_rate_limit_is_counted_as_refused_frames_and_rate_limited_errors(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    before = await scrape(api)
    job, _ = interview_scenario(fixtures_dir)
    iv = await api.interview(job, mode="voice")
    candidate = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    await candidate.send(VOICE_HELLO)
    await candidate.until("question")
    await play(candidate.ws, b"\0" * 32000 * 30, pace=1e9, frame=16000)  # 30 s of silence at once
    assert (await candidate.until("error"))["code"] == "rate_limited"
    await candidate.send({"type": "ping"})
    await candidate.until("pong")  # every frame before it was handled

    after = await scrape(api)
    refused = value(after, "shanmian_audio_frames_refused_total") - value(before, "shanmian_audio_frames_refused_total")
    # 60 half-second frames: the 5 s burst is taken, then the flood is read at the limit's pace, which takes about
    # every other frame.
    assert 15 <= refused <= 50, refused
    told = value(after, "shanmian_client_errors_total", channel="stream", code="rate_limited") - value(
        before, "shanmian_client_errors_total", channel="stream", code="rate_limited"
    )
    assert 1 <= told < refused, told
    await candidate.ws.close()


async def test_a_blocked_event_loop_shows_as_a_stall(api: Api) -> None:
    # The server runs on this test's event loop: blocking it here blocks the server's probe too.
    time.sleep(0.5)  # noqa: ASYNC251  (the point: the loop is blocked)
    await asyncio.sleep(0.3)  # the probe wakes (late) and records it
    stall = value(await scrape(api), "shanmian_event_loop_stall_seconds")
    assert 0.4 <= stall < 60, stall  # seconds


async def test_metrics_can_be_turned_off(server_factory: Any) -> None:
    server = await server_factory.start(metrics=False)
    api = Api(server.base, server.api_key)
    assert (await api.get("/metrics")).status_code == 404
    assert (await api.get("/health")).json()["status"] == "ok"
