"""The shared ASR engine serves streams in turn: a stream with many finals queued (a long answer, a client sending
faster than real time) does not hold back another stream's final; the queue reports its depth and waits."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
from media_testkit import Clip

from media import ASREngine


async def test_a_stream_with_many_finals_queued_does_not_hold_back_another_streams_final(
    engine: ASREngine, clips_en: dict[str, Clip]
) -> None:
    audio = np.frombuffer(clips_en["q1_weak"].pcm, "<i2").astype(np.float32) / 32768.0
    waits_before = engine.queue().final_waits.count
    flooding, other = object(), object()
    finished: list[str] = []
    lock = threading.Lock()

    def record(name: str) -> None:
        with lock:
            finished.append(name)

    flood = [engine.submit(audio, "en", key=flooding) for _ in range(24)]
    late = engine.submit(audio, "en", key=other)
    for f in flood:
        f.add_done_callback(lambda _f: record("flood"))
    late.add_done_callback(lambda _f: record("other"))
    assert engine.queue().finals_waiting > 0  # the workers are busy with the flood's first batches
    results = await asyncio.gather(*(asyncio.wrap_future(f) for f in [*flood, late]))

    # First in, first out, the other stream's final would come after all 24. In turn, it joins the first batch a
    # worker takes after it was queued: only the (at most two) batches already running finish before it.
    ahead = finished.index("other")
    assert ahead <= 2 * engine.config.max_batch, finished
    assert "microservice" in results[-1].text.lower().replace(" ", "")
    state = engine.queue()
    assert state.finals_waiting == 0
    assert state.final_waits.count - waits_before == 25
    assert state.final_waits.cumulative[-1] <= state.final_waits.count
