"""Resampling and VAD run on the VAD model's DSP threads, not on the event loop, and a stream's frames still go
through in order, however its pushes are scheduled."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
from media_testkit import Clip, run_stream, silence

from media import ASREngine, AudioFormat, AudioPipeline, SileroVad, SpeechStarted, SpeechStopped, TurnEnded


class ThreadRecordingVad(SileroVad):
    """The real model, noting which threads run it."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[str] = set()

    def run(self, rows: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self.threads.add(threading.current_thread().name)
        return super().run(rows, h, c)


def stereo_48k(pcm: bytes) -> bytes:
    """16 kHz mono → 48 kHz stereo (each sample repeated): the resampler has real work to do."""
    x = np.frombuffer(pcm, "<i2")
    return np.repeat(np.repeat(x, 3)[:, None], 2, axis=1).astype("<i2").tobytes()


async def test_resampling_and_vad_run_on_the_dsp_threads(engine: ASREngine, clips_en: dict[str, Clip]) -> None:
    vad = ThreadRecordingVad()
    p = AudioPipeline(engine, vad, "en", AudioFormat(sample_rate=48000, channels=2))
    events = await run_stream(p, stereo_48k(clips_en["closing_1"].pcm + silence(2.0)), rate=48000, channels=2)
    await p.close()
    assert any(isinstance(t.event, TurnEnded) for t in events)
    assert vad.threads and all(name.startswith("dsp") for name in vad.threads), vad.threads
    assert threading.current_thread().name not in vad.threads


def voice_activity(events: list[Any]) -> list[tuple[str, float]]:
    return [(type(e).__name__, e.at) for e in events if isinstance(e, SpeechStarted | SpeechStopped)]


async def test_frames_pushed_all_at_once_go_through_in_order(
    engine: ASREngine, vad: SileroVad, clips_en: dict[str, Clip]
) -> None:
    pcm = clips_en["q1_weak"].pcm + silence(1.0)
    step = 640
    frames = [pcm[i : i + step] for i in range(0, len(pcm) - step + 1, step)]

    one_by_one = AudioPipeline(engine, vad, "en", AudioFormat())
    for frame in frames:
        await one_by_one.push(frame)
    expected = voice_activity(one_by_one.pending_events())
    await one_by_one.close()

    together = AudioPipeline(engine, vad, "en", AudioFormat())
    await asyncio.gather(*(together.push(frame) for frame in frames))
    got = voice_activity(together.pending_events())
    await together.close()
    assert expected and got == expected
