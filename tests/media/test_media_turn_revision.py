"""A finished turn decoded again from its whole audio: what is kept is at least as good as the live transcript and
close to offline, nobody waits on it, and it is bounded."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from media_testkit import Clip, Timed, error_rate, mean, run_stream, silence

from media import ASRConfig, ASREngine
from media.events import TranscriptFinal, TurnEnded, TurnRevised
from media.turn_audio import PIECE_S, TAIL_S, TurnAudio, pieces
from media.vad import SAMPLE_RATE

ANSWERS = ("answer", "follow_up_answer")


def _kept(events: list[Timed]) -> str:
    """The turn's words as stored: its revision if one came, else what was heard live."""
    [ended] = [e.event for e in events if isinstance(e.event, TurnEnded)]
    revised = [e.event for e in events if isinstance(e.event, TurnRevised)]
    assert len(revised) <= 1
    assert ended.revising == bool(revised), "a turn says whether its revision follows"
    if revised:
        assert (revised[0].start, revised[0].end) == (ended.start, ended.end), "a revision names its turn's span"
        kinds = [type(e.event) for e in events]
        assert kinds.index(TurnEnded) < kinds.index(TurnRevised), "the turn ends without waiting for its revision"
        return revised[0].text
    return ended.text


async def _stream(make_pipeline, language: str, pcm: bytes, **kw: float) -> list[Timed]:
    p = make_pipeline(language, **kw)
    events = await run_stream(p, pcm + silence(3.0))
    await p.settled()
    events += [Timed(e, p.now) for e in p.pending_events()]
    await p.close()
    return events


async def test_answers_heard_in_several_segments_are_kept_as_well_transcribed_as_offline(
    engine: ASREngine, make_pipeline, clips_en: dict[str, Clip]
) -> None:
    live, kept, offline = [], [], []
    revised = 0
    for clip in clips_en.values():
        if clip.role not in ANSWERS:
            continue
        events = await _stream(make_pipeline, "en", clip.pcm)
        [ended] = [e.event for e in events if isinstance(e.event, TurnEnded)]
        revised += any(isinstance(e.event, TurnRevised) for e in events)
        live.append(error_rate(clip.text, ended.text, "en"))
        kept.append(error_rate(clip.text, _kept(events), "en"))
        whole = np.frombuffer(clip.pcm, "<i2").astype(np.float32) / 32768
        offline.append(error_rate(clip.text, (await engine.transcribe(whole, "en")).text, "en"))
    # The synthetic voices pause inside q1/q2/q3 strong and q3_pause long enough to close a segment there.
    assert revised >= 3, "the answers heard in several segments are decoded again"
    assert mean(kept) <= mean(offline) + 0.01, (kept, offline)
    assert mean(kept) < mean(live), (kept, live)


async def test_chinese_answers_are_kept_about_as_well_transcribed_as_offline(
    engine: ASREngine, make_pipeline, clips_zh: dict[str, Clip]
) -> None:
    kept, offline = [], []
    for clip in clips_zh.values():
        if clip.role not in ANSWERS:
            continue
        events = await _stream(make_pipeline, "zh", clip.pcm)
        kept.append(error_rate(clip.text, _kept(events), "zh"))
        whole = np.frombuffer(clip.pcm, "<i2").astype(np.float32) / 32768
        offline.append(error_rate(clip.text, (await engine.transcribe(whole, "zh")).text, "zh"))
    # Three short answers: one character of ~40 is 2.5 points of one answer's CER.
    assert mean(kept) <= mean(offline) + 0.02, (kept, offline)


async def test_a_turn_longer_than_the_revision_limit_keeps_its_live_words(
    make_pipeline, clips_en: dict[str, Clip]
) -> None:
    events = await _stream(make_pipeline, "en", clips_en["q1_strong"].pcm, revise_up_to_s=5.0)
    assert [type(e.event) for e in events].count(TurnEnded) == 1
    assert [type(e.event) for e in events].count(TranscriptFinal) > 1, "heard in several segments: would be revised"
    assert not any(isinstance(e.event, TurnRevised) for e in events)


async def test_a_revision_under_way_is_dropped_when_the_stream_closes(
    engine: ASREngine, make_pipeline, clips_en: dict[str, Clip]
) -> None:
    p = make_pipeline("en")
    events = await run_stream(p, clips_en["q2_strong"].pcm)  # flushed: the turn ends, its revision is queued
    assert any(isinstance(e.event, TurnEnded) for e in events)
    await p.close()
    await p.settled()
    assert not any(isinstance(e, TurnRevised) for e in p.pending_events())
    for _ in range(100):  # the engine drops what was queued for the closed stream
        if engine.queue().revisions_waiting == 0:
            break
        await asyncio.sleep(0.05)
    assert engine.queue().revisions_waiting == 0


async def test_a_revision_waits_while_a_final_is_queued(clips_en: dict[str, Clip]) -> None:
    engine = ASREngine(ASRConfig(workers=1))
    try:
        audio = np.frombuffer(clips_en["q1_strong"].pcm, "<i2").astype(np.float32)[: 8 * SAMPLE_RATE] / 32768
        done: list[str] = []
        busy = engine.submit(audio, "en")  # the one worker takes this at once
        revision = engine.submit_revision(audio, "en")
        final = engine.submit(audio, "en")
        revision.add_done_callback(lambda _f: done.append("revision"))
        final.add_done_callback(lambda _f: done.append("final"))
        for fut in (busy, revision, final):
            await asyncio.wrap_future(fut)
        assert done == ["final", "revision"]
        assert engine.stats.revisions == 1 and engine.stats.finals == 2
    finally:
        engine.close()


def test_segments_are_grouped_into_pieces_whisper_can_hear_whole() -> None:
    spans = [(1.0, 9.0), (9.5, 20.0), (20.4, 29.5), (30.0, 62.0), (63.0, 64.0)]
    got = pieces(spans, start=1.0)
    assert [(p.first, p.last) for p in got] == [(0, 1), (2, 2), (3, 3), (4, 4)]
    assert got[0].begin == 0 and got[0].end == round((20.0 + TAIL_S - 1.0) * SAMPLE_RATE)
    for p in got[:2]:
        assert (p.end - p.begin) / SAMPLE_RATE <= PIECE_S
    assert pieces([], start=0.0) == []


def test_turn_audio_keeps_sixteen_bit_samples_up_to_its_limit() -> None:
    kept = TurnAudio(start=0.0, max_s=1.0)
    window = np.full(512, 0.5, np.float32)
    for _ in range(30):
        kept.add(window)
    assert not kept.overflowed and kept.seconds == pytest.approx(30 * 512 / SAMPLE_RATE)
    assert np.allclose(kept.samples(0, 10), 0.5, atol=1e-4)
    for _ in range(3):
        kept.add(window)
    assert kept.overflowed and kept.samples(0, 10).size == 0
