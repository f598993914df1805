"""Helpers for the media tests: fixture clips, streaming a pipeline on the audio clock, the error rate.

The error-rate code is a copy of the reference client's (../shared/tools/interview_client.py), not an import.
"""

from __future__ import annotations

import asyncio
import json
import re
import unicodedata
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from media import AudioPipeline
from media.events import MediaEvent

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "interviews"
if not FIXTURES.is_dir():
    FIXTURES = Path("/work/shared/fixtures/interviews")


@dataclass
class Clip:
    id: str
    role: str
    text: str
    pcm: bytes  # 16 kHz mono s16le


def load_clips(lang: str) -> dict[str, Clip]:
    folder = FIXTURES / f"backend_{lang}"
    manifest = json.loads((folder / "manifest.json").read_text())
    clips = {}
    for c in manifest["clips"]:
        with wave.open(str(folder / c["file"])) as w:
            assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
            clips[c["id"]] = Clip(c["id"], c["role"], c["text"], w.readframes(w.getnframes()))
    return clips


def silence(seconds: float, rate: int = 16000, channels: int = 1) -> bytes:
    return b"\0" * (2 * channels * int(rate * seconds))


@dataclass
class Timed:
    """An event and the audio clock (pipeline.now) when it came out; turn decisions are made on that clock."""

    event: MediaEvent
    at_audio: float


async def run_stream(
    pipeline: AudioPipeline,
    pcm: bytes,
    *,
    frame_s: float = 0.02,
    rate: int = 16000,
    channels: int = 1,
    pace: float | None = None,
    flush: bool = True,
) -> list[Timed]:
    """Pushes `pcm` in frames (as fast as it is taken, or at `pace` x real time), collecting the events."""
    step = 2 * channels * int(rate * frame_s)
    pcm = pcm + b"\0" * ((-len(pcm)) % step)  # whole frames only: a short last frame is a FrameError
    out: list[Timed] = []
    for i in range(0, len(pcm), step):
        await pipeline.push(pcm[i : i + step])
        out += [Timed(e, pipeline.now) for e in pipeline.pending_events()]
        if pace:
            await asyncio.sleep(frame_s / pace)
    if flush:
        await pipeline.flush()
        out += [Timed(e, pipeline.now) for e in pipeline.pending_events()]
    return out


def mean(xs: list[float]) -> float:
    return float(np.mean(xs)) if xs else 0.0


# -- the reference client's error rate (copied) ----------------------------------------------------------

_ONES = tuple(
    [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ]
)
_TENS = tuple(["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"])


def _spell(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + _spell(n % 100))
    for size, word in ((10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= size:
            return _spell(n // size) + " " + word + ("" if n % size == 0 else " " + _spell(n % size))
    return str(n)


def normalize_en(text: str) -> str:
    t = text.lower().replace("%", " percent")
    money = r"\$\s?([\d.,]+)(\s+(?:thousand|million|billion))?"
    t = re.sub(money, lambda m: f"{m.group(1)}{m.group(2) or ''} dollars", t)
    t = re.sub(r"(?<=\d),(?=\d{3})", "", t)

    def num(m: re.Match[str]) -> str:
        whole, _, frac = m.group(0).partition(".")
        words = _spell(int(whole)) if len(whole) < 13 else whole
        return words + (" point " + " ".join(_ONES[int(d)] for d in frac) if frac else "")

    t = re.sub(r"\d+(?:\.\d+)?", num, t)
    return t.replace("-", " ")


def norm_units(s: str, lang: str) -> list[str]:
    s = unicodedata.normalize("NFKC", s).lower()
    if lang != "zh":
        s = normalize_en(s)
    s = re.sub(r"[^\w\s]", " ", s)
    return list(s.replace(" ", "")) if lang == "zh" else s.split()


def error_rate(ref: str, hyp: str, lang: str) -> float:
    """WER (en) or CER (zh), exactly as the reference client computes it."""
    r, h = norm_units(ref, lang), norm_units(hyp, lang)
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(h)] / max(1, len(r))
