"""Benchmark of the media pipeline alone (no server): streaming vs offline accuracy, latency, CPU, concurrency.

Accuracy is printed three ways: offline (each whole clip in one pass), streaming (the live turn, as captions and the
next question saw it) and kept (what is stored and scored: the turn's revision, decoded again from its whole audio
once it was over, where one came; media/turn_audio.py).

Audio is pushed in 20 ms frames *paced by the wall clock* (pace 1.0 = real time; `--pace 2` sends twice as
fast and reports delays converted back to audio seconds). N concurrent streams share one ASREngine and one VAD, as
sessions do in the server. Word timings are estimated by spreading a piece's words evenly over its audio span:
  partial delay = when a word first appears in a partial − when it was (estimated to be) spoken
  final delay   = when the final containing it arrives − when it was spoken
  turn delay    = when TurnEnded arrives − the end of speech (TurnEnded.end)
Run: .venv/bin/python bench/asr_stream.py [--streams 1,2,4,8] [--clips-per-stream 3] [--pace 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import reference_client

from media import ASREngine, AudioFormat, AudioPipeline, SileroVad
from media.events import TranscriptFinal, TranscriptPartial, TurnEnded, TurnRevised

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "interviews"
FRAME_S = 0.02
GAP_S = 2.5  # silence after each answer, as the candidate waits for the next question


# Error rates exactly as the reference client computes them (numbers spelled out, CER for zh).
error_rate = reference_client().error_rate


@dataclass
class Clip:
    id: str
    text: str
    pcm: bytes


def load(lang: str) -> list[Clip]:
    folder = FIXTURES / f"backend_{lang}"
    out = []
    for c in json.loads((folder / "manifest.json").read_text())["clips"]:
        with wave.open(str(folder / c["file"])) as w:
            out.append(Clip(c["id"], c["text"], w.readframes(w.getnframes())))
    return out


@dataclass
class StreamResult:
    partial_delays: list[float] = field(default_factory=list)
    final_delays: list[float] = field(default_factory=list)
    turn_delays: list[float] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)
    kept_errors: list[float] = field(default_factory=list)
    revised: int = 0
    turns_expected: int = 0
    turns_got: int = 0
    audio_s: float = 0.0


def _units(text: str, lang: str) -> list[str]:
    return [c for c in text if not c.isspace()] if lang == "zh" else text.split()


async def play(engine: ASREngine, vad: SileroVad, lang: str, clips: list[Clip], pace: float) -> StreamResult:
    res = StreamResult(turns_expected=len(clips))
    p = AudioPipeline(engine, vad, lang, AudioFormat())
    t0 = time.monotonic()

    def audio_now() -> float:  # the wall clock expressed in audio seconds of this stream
        return (time.monotonic() - t0) * pace

    turns: list[TurnEnded] = []
    revisions: dict[tuple[float, float], str] = {}
    seen: dict[float, int] = {}  # segment start -> words already shown in partials

    async def reader() -> None:
        async for ev in p.events():
            now = audio_now()
            if isinstance(ev, TranscriptPartial):
                words = _units(ev.text, lang)
                for i in range(seen.get(ev.start, 0), len(words)):
                    res.partial_delays.append(now - (ev.start + (ev.end - ev.start) * (i + 1) / len(words)))
                seen[ev.start] = max(seen.get(ev.start, 0), len(words))
            elif isinstance(ev, TranscriptFinal):
                words = _units(ev.text, lang)
                for i in range(len(words)):
                    res.final_delays.append(now - (ev.start + (ev.end - ev.start) * (i + 1) / len(words)))
            elif isinstance(ev, TurnEnded):
                res.turn_delays.append(now - ev.end)
                turns.append(ev)
            elif isinstance(ev, TurnRevised):
                revisions[(ev.start, ev.end)] = ev.text

    task = asyncio.create_task(reader())
    step = int(16000 * FRAME_S) * 2
    pushed = 0
    for clip in clips:
        pcm = clip.pcm + b"\0" * ((-len(clip.pcm)) % step) + b"\0" * (int(16000 * GAP_S) * 2)
        for i in range(0, len(pcm), step):
            await p.push(pcm[i : i + step])
            pushed += step // 2
            await asyncio.sleep(max(0.0, t0 + pushed / 16000 / pace - time.monotonic()))
    await p.flush()
    await p.settled()
    await p.close()
    await task
    res.audio_s = pushed / 16000
    res.turns_got = len(turns)
    res.revised = len(revisions)
    live = [t.text for t in turns]
    kept = [revisions.get((t.start, t.end), t.text) for t in turns]
    if len(turns) == len(clips):
        res.errors = [error_rate(c.text, t, lang) for c, t in zip(clips, live, strict=True)]
        res.kept_errors = [error_rate(c.text, t, lang) for c, t in zip(clips, kept, strict=True)]
    else:  # a cut-off or a merge: score the whole stream as one text
        joiner = "" if lang == "zh" else " "
        whole = joiner.join(c.text for c in clips)
        res.errors = [error_rate(whole, joiner.join(live), lang)]
        res.kept_errors = [error_rate(whole, joiner.join(kept), lang)]
    return res


def pct(xs: list[float], q: float) -> str:
    return f"{np.percentile(xs, q):.2f}" if xs else "-"


async def run_n(engine: ASREngine, vad: SileroVad, lang: str, clips: list[Clip], n: int, per: int, pace: float):
    sets = [[clips[(i * per + k) % len(clips)] for k in range(per)] for i in range(n)]
    c0, w0 = time.process_time(), time.monotonic()
    results = await asyncio.gather(*(play(engine, vad, lang, s, pace) for s in sets))
    cpu, wall = time.process_time() - c0, time.monotonic() - w0
    audio = sum(r.audio_s for r in results)
    speech = sum(len(c.pcm) / 32000 for s in sets for c in s)
    agg = StreamResult()
    for r in results:
        agg.partial_delays += r.partial_delays
        agg.final_delays += r.final_delays
        agg.turn_delays += r.turn_delays
        agg.errors += r.errors
        agg.kept_errors += r.kept_errors
        agg.revised += r.revised
        agg.turns_expected += r.turns_expected
        agg.turns_got += r.turns_got
    return agg, cpu, wall, audio, speech


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", default="1,2,4,8")
    ap.add_argument("--clips-per-stream", type=int, default=3)
    ap.add_argument("--pace", type=float, default=1.0)
    ap.add_argument("--langs", default="en,zh")
    ap.add_argument("--accuracy-pace", type=float, default=4.0, help="pace of the full-set accuracy pass")
    args = ap.parse_args()
    engine, vad = ASREngine(), SileroVad()
    engine.preload()
    cfg = engine.config
    print(
        f"# media pipeline bench: beam {cfg.beam_size} (partials {cfg.partial_beam_size}), {cfg.compute_type}, "
        f"{cfg.workers} worker x {cfg.cpu_threads} threads, max batch {cfg.max_batch}"
    )
    for lang in args.langs.split(","):
        clips = load(lang)
        # Offline: one pass per whole clip, same engine and decode settings (beam, window padding).
        off = [
            error_rate(
                c.text,
                (await engine.transcribe(np.frombuffer(c.pcm, "<i2").astype(np.float32) / 32768, lang)).text,
                lang,
            )
            for c in clips
        ]
        metric = "CER" if lang == "zh" else "WER"
        # Streaming over the whole set, one stream, paced at --accuracy-pace.
        acc, cpu, wall, audio, speech = await run_n(engine, vad, lang, clips, 1, len(clips), args.accuracy_pace)
        print(f"\n## {lang}: {len(clips)} clips, {sum(len(c.pcm) for c in clips) / 32000:.0f} s of speech")
        print(
            f"offline {metric} {statistics.mean(off):.3f}   streaming {metric} {statistics.mean(acc.errors):.3f}   "
            f"kept (revised) {metric} {statistics.mean(acc.kept_errors):.3f} "
            f"(one stream, whole set at {args.accuracy_pace:g}x real time; turns {acc.turns_got}/"
            f"{acc.turns_expected}, {acc.revised} revised)"
        )
        print(
            f"{'N':>2} {'pace':>4} {'partial p50/p95':>16} {'final p50/p95':>14} {'turn-end p50/p95':>17} "
            f"{'turns':>6} {metric:>5} {'CPU-s/audio-s':>13} {'CPU-s/speech-s':>14} {'wall':>5}"
        )
        for n in [int(x) for x in args.streams.split(",")]:
            r, cpu, wall, audio, speech = await run_n(engine, vad, lang, clips, n, args.clips_per_stream, args.pace)
            print(
                f"{n:>2} {args.pace:>4g} {pct(r.partial_delays, 50):>7}/{pct(r.partial_delays, 95):<8} "
                f"{pct(r.final_delays, 50):>6}/{pct(r.final_delays, 95):<7} "
                f"{pct(r.turn_delays, 50):>8}/{pct(r.turn_delays, 95):<8} {r.turns_got:>3}/{r.turns_expected:<2} "
                f"{statistics.mean(r.errors):>5.3f} {cpu / audio:>13.3f} {cpu / speech:>14.3f} {wall:>5.0f}"
            )
    print("\nengine:", json.dumps({k: round(v, 2) for k, v in engine.stats.snapshot().items()}))
    engine.close()


if __name__ == "__main__":
    asyncio.run(main())
