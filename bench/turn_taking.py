"""End of turn, pause by pause: today's lexical rules beside Pipecat's Smart Turn v3.2 audio model, on fixture voices.

For every pause inside a fixture answer (Silero VAD silence of at least `--min-pause` s) and at every answer's end,
it prints the words so far (Whisper on the audio up to the pause), the lexical judgement and the silence the rules
wait for, and the model's probability that the turn is over, read `--probe` s into the silence. Then, per policy:

- cut-offs: internal pauses the policy would end at their real length, and when stretched to a thinking pause of
  `--thinking` s (the issue's 1.6-1.8 s);
- the wait at the real ends of answers (what a candidate waits on top of the question's own latency).

Policies: `rules` (today: media.endpointing), `model` (end at the probe when p >= 0.5, else the long fallback),
`rules+model` (dangling words still wait for the fallback; otherwise the model can only lengthen the wait, to
`--unsure-wait` s, when p < 0.5) and `rules-or-model` (the model can only shorten it: end at the probe when the words
read as finished and p >= `--confident`).

The model is not part of the runtime (media/endpointing.py says why, with this bench's figures). Its file comes
from the pipecat-ai 1.14.0 wheel, installed apart: `pip install --no-deps --target /tmp/pipecat pipecat-ai==1.14.0`
then `--model /tmp/pipecat/pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx` (checked by sha256).

Run: .venv/bin/python bench/turn_taking.py --model PATH [--thinking 1.7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from faster_whisper.feature_extractor import FeatureExtractor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import FIXTURES, machine

from media import ASREngine, SileroVad
from media.endpointing import Completeness, EndpointingConfig, judge
from media.vad import SAMPLE_RATE, WINDOW, WINDOW_S
from models import sha256_of

MODEL_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"
MODEL_SECONDS = 8  # the model hears the last 8 s of the turn: 80 log-mel bins x 800 frames of 10 ms
SILENCE_BELOW = 0.35  # Silero probability under which a window is silence (the pipeline's vad_neg_threshold)


class SmartTurn:
    """Smart Turn v3.2 on onnxruntime: Whisper log-mel features (faster-whisper's extractor over an 8 s window,
    the waveform first scaled to zero mean and unit variance) in, the probability that the turn is over out."""

    def __init__(self, path: Path) -> None:
        actual = sha256_of(path)
        if actual != MODEL_SHA256:
            raise SystemExit(f"{path}: sha256 {actual}, expected {MODEL_SHA256} (smart-turn-v3.2-cpu.onnx)")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), sess_options=opts)
        self.features = FeatureExtractor(feature_size=80, chunk_length=MODEL_SECONDS)

    def probability(self, audio: np.ndarray) -> tuple[float, float]:
        """(p, seconds taken) for the turn's audio so far, its silence included."""
        started = time.perf_counter()
        n = MODEL_SECONDS * SAMPLE_RATE
        x = audio[-n:].astype(np.float32)
        x = np.pad(x, (n - len(x), 0)) if len(x) < n else x  # silence before a short turn, as the model was fed
        x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
        mel = self.features(x, padding=0)
        out = self.session.run(None, {"input_features": mel[None].astype(np.float32)})[0]
        return float(np.asarray(out).reshape(-1)[0]), time.perf_counter() - started


@dataclass
class Pause:
    clip: str
    language: str
    final: bool  # the answer's end, not a pause inside it
    length_s: float  # the real silence (0 at an answer's end: the candidate waits for the next question)
    words: str
    completeness: Completeness
    rules_wait_s: float
    p: float


def load(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        if w.getframerate() != SAMPLE_RATE or w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise SystemExit(f"{path}: expected 16 kHz 16-bit mono")
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768


def silences(vad: SileroVad, audio: np.ndarray, min_s: float) -> tuple[list[tuple[int, float]], int]:
    """(start sample, length s) of each silence of at least `min_s` between speech, and the sample where the last
    speech ends."""
    _, probs = vad.stream().process(audio)
    speech = probs >= SILENCE_BELOW
    spoken = np.flatnonzero(speech)
    if not len(spoken):
        return [], len(audio)
    out: list[tuple[int, float]] = []
    run_start = None
    for i in range(spoken[0], spoken[-1] + 1):
        if not speech[i] and run_start is None:
            run_start = i
        elif speech[i] and run_start is not None:
            if (i - run_start) * WINDOW_S >= min_s:
                out.append((run_start * WINDOW, (i - run_start) * WINDOW_S))
            run_start = None
    return out, (int(spoken[-1]) + 1) * WINDOW


async def pauses_of(
    clip: dict[str, str], folder: Path, language: str, vad: SileroVad, asr: ASREngine, turn: SmartTurn, args: Any
) -> list[Pause]:
    audio = load(folder / clip["file"])
    inner, end = silences(vad, audio, args.min_pause)
    config = EndpointingConfig.for_language(language)
    probe = int(args.probe * SAMPLE_RATE)
    out = []
    for at, length, final in [*((a, n, False) for a, n in inner), (end, 0.0, True)]:
        heard = audio[:at]
        words = (await asr.transcribe(heard, language)).text.strip()
        completeness = judge(words, language)
        p, _ = turn.probability(np.concatenate([heard, np.zeros(probe, np.float32)]))
        out.append(
            Pause(clip["id"], language, final, length, words, completeness, config.silence_needed(completeness), p)
        )
    return out


Policy = Callable[[Pause], float]  # the silence (s) after which the turn ends at this pause


def policies(args: Any) -> dict[str, Policy]:
    def fallback(pause: Pause) -> float:
        return EndpointingConfig.for_language(pause.language).incomplete_silence_s

    def model(pause: Pause) -> float:
        return args.probe if pause.p >= 0.5 else fallback(pause)

    def rules_and_model(pause: Pause) -> float:
        if pause.completeness is Completeness.INCOMPLETE or pause.p >= 0.5:
            return pause.rules_wait_s
        return max(pause.rules_wait_s, args.unsure_wait)

    def rules_or_model(pause: Pause) -> float:
        confident = pause.completeness is Completeness.COMPLETE and pause.p >= args.confident
        return min(pause.rules_wait_s, args.probe) if confident else pause.rules_wait_s

    return {
        "rules": lambda pause: pause.rules_wait_s,
        "model": model,
        "rules+model": rules_and_model,
        "rules-or-model": rules_or_model,
    }


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, required=True, help="smart-turn-v3.2-cpu.onnx (see the module docstring)")
    ap.add_argument("--fixtures", type=Path, default=FIXTURES)
    ap.add_argument("--min-pause", type=float, default=0.25, help="shortest silence inside an answer counted")
    ap.add_argument("--probe", type=float, default=0.2, help="silence (s) after which the model is asked")
    ap.add_argument("--thinking", type=float, default=1.7, help="a thinking pause: must never end the turn")
    ap.add_argument("--unsure-wait", type=float, default=2.0, help="rules+model: the wait when p < 0.5")
    ap.add_argument("--confident", type=float, default=0.9, help="rules-or-model: p that ends at the probe")
    args = ap.parse_args()

    turn = SmartTurn(args.model)
    vad = SileroVad()
    asr = ASREngine()
    pauses: list[Pause] = []
    model_s: list[float] = []
    try:
        for folder in sorted(p for p in args.fixtures.iterdir() if (p / "manifest.json").is_file()):
            clips = json.loads((folder / "manifest.json").read_text())["clips"]
            language = "zh" if folder.name.endswith("_zh") else "en"
            for clip in clips:
                pauses += await pauses_of(clip, folder, language, vad, asr, turn, args)
                model_s.append(turn.probability(load(folder / clip["file"]))[1])
    finally:
        asr.close()

    print(f"# end of turn, pause by pause ({machine()}); model {args.model.name}, probe {args.probe} s")
    print("| clip | where | pause s | rules | rules wait s | model p | words (last 60 chars) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for p in pauses:
        where = "end" if p.final else "inside"
        print(
            f"| {p.clip} | {where} | {p.length_s:.2f} | {p.completeness.value} | {p.rules_wait_s:.2f} | {p.p:.3f} "
            f"| {p.words[-60:]} |"
        )
    print(f"\nmodel call p50 {statistics.median(model_s) * 1000:.0f} ms ({len(model_s)} calls, 1 thread)\n")
    print(
        f"| policy | lang | cut-offs at real pauses | cut-offs at {args.thinking} s pauses | wait at ends mean / max s |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name, wait in policies(args).items():
        for language in ("en", "zh"):
            inner = [p for p in pauses if p.language == language and not p.final]
            ends = [wait(p) for p in pauses if p.language == language and p.final]
            real = sum(wait(p) <= p.length_s for p in inner)
            thinking = sum(wait(p) <= args.thinking for p in inner)
            print(
                f"| {name} | {language} | {real} / {len(inner)} | {thinking} / {len(inner)} "
                f"| {statistics.mean(ends):.2f} / {max(ends):.2f} |"
            )


if __name__ == "__main__":
    asyncio.run(main())
