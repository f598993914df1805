"""What a client can get wrong must raise a clear error or be absorbed, never crash or grow memory."""

from __future__ import annotations

import numpy as np
import pytest
from media_testkit import Clip, run_stream, silence

from media import (
    AudioFormat,
    AudioPipeline,
    FrameError,
    PipelineClosed,
    UnsupportedAudio,
    UnsupportedLanguage,
)
from media.events import SpeechStarted, TurnEnded


@pytest.mark.parametrize("frame", [b"\0" * 641, b"\x01" * 3])
async def test_part_samples_raise_and_the_stream_goes_on(
    make_pipeline, clips_en: dict[str, Clip], frame: bytes
) -> None:
    p = make_pipeline("en")
    with pytest.raises(FrameError):
        await p.push(frame)
    events = await run_stream(p, clips_en["closing_1"].pcm + silence(2.0))
    assert any(isinstance(e.event, TurnEnded) for e in events)


def test_unsupported_format_and_language(engine, vad) -> None:
    with pytest.raises(UnsupportedAudio):
        AudioPipeline(engine, vad, "en", AudioFormat("pcm_s16le", 96000, 1))
    with pytest.raises(UnsupportedAudio):
        AudioPipeline(engine, vad, "en", AudioFormat("mulaw", 8000, 1))
    with pytest.raises(UnsupportedLanguage):
        AudioPipeline(engine, vad, "fr", AudioFormat())


async def test_ten_minutes_of_silence_make_no_turn_and_keep_no_audio(make_pipeline) -> None:
    p = make_pipeline("en")
    frame = silence(0.5)
    for _ in range(1200):  # 10 minutes in 500 ms frames, as fast as it goes
        await p.push(frame)
        assert p.open_audio_s == 0.0 and not p._closed_segs and not p._turn
    await p.flush()
    assert p.pending_events() == []
    assert abs(p.now - 600.0) < 0.05


async def test_clipping_and_white_noise_do_not_crash(make_pipeline) -> None:
    rng = np.random.default_rng(7)
    square = np.where(np.sin(np.arange(16000 * 3) * 2 * np.pi * 180 / 16000) >= 0, 32767, -32768)
    noise = rng.integers(-32768, 32767, 16000 * 3)
    quiet_noise = rng.normal(0, 300, 16000 * 3)
    pcm = np.concatenate([square, noise, quiet_noise]).astype("<i2").tobytes()
    p = make_pipeline("en")
    events = await run_stream(p, pcm + silence(4.0))
    for e in events:  # whatever Whisper makes of noise, it is text, and the stream still works afterwards
        if isinstance(e.event, TurnEnded):
            assert isinstance(e.event.text, str)
    await p.close()


async def test_a_flood_faster_than_real_time_is_bounded(make_pipeline, clips_en: dict[str, Clip]) -> None:
    # 60+ s of speech pushed in 500 ms frames with no pause: push() must hold the client back so that
    # the ASR work queued for this stream (and its audio) stays bounded.
    p = make_pipeline("en", max_pending_finals=2)
    pcm = b"".join(c.pcm for c in clips_en.values())
    step = 2 * 8000
    worst = 0
    for i in range(0, len(pcm) - step, step):
        await p.push(pcm[i : i + step])
        pending = sum(1 for s in p._closed_segs if s.final is not None and not s.final.done())
        worst = max(worst, pending)
        assert p.open_audio_s <= p.config.max_segment_s + 0.5
    assert worst <= 3
    await p.flush()
    assert any(isinstance(e, TurnEnded) for e in p.pending_events())
    await p.close()
    with pytest.raises(PipelineClosed):
        await p.push(silence(0.02))


async def test_events_iterator_ends_on_close(make_pipeline, clips_en: dict[str, Clip]) -> None:
    p = make_pipeline("en")
    await run_stream(p, clips_en["closing_1"].pcm[: 16000 * 2], flush=False)
    await p.close()
    got = [e async for e in p.events()]
    assert got == [] or isinstance(got[0], SpeechStarted)


async def test_chunks_of_any_length_are_taken(make_pipeline, clips_en: dict[str, Clip]) -> None:
    # A transport may hand over what it has: nothing, 3 ms, or 1.5 s at a time.
    p = make_pipeline("en")
    await p.push(b"")
    await p.push(b"\0" * 2 * 48)
    events = await run_stream(p, clips_en["closing_1"].pcm + silence(2.0), frame_s=1.5)
    assert any(isinstance(e.event, TurnEnded) and e.event.text for e in events)
