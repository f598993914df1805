"""Voice latency and accuracy as a candidate meets them, over the fixtures, against a real server in real time.

Prints per language: speech end -> next question p50/p95, cut-offs, streaming WER next to offline WER of the same
model, the delay from audio being spoken to its partial and to its final, and server CPU seconds per audio second.

usage: python bench/voice_latency.py [--languages en zh] [--transport ws rtc]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import wave
from pathlib import Path
from typing import Any

import numpy as np
import websockets
from harness import FIXTURES, KEY, audio_seconds, machine, pct, reference_client, run_client, server

from media import ASRConfig, ASREngine


async def replay(base: str, interview_id: str) -> list[dict[str, Any]]:
    """Every event of a finished interview, as an observer replays it (each keeps the `t` it was sent at)."""
    url = base.replace("http", "ws", 1) + f"/v1/interviews/{interview_id}/observe?token={KEY}"
    events: list[dict[str, Any]] = []
    async with websockets.connect(url, max_size=2**24) as ws:
        while True:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=2))
            except TimeoutError:
                return events
            events.append(message)
            if message.get("type") == "closed":
                return events


def offline_error(fixtures: Path, summary: dict[str, Any], language: str, client: Any) -> float | None:
    """The same model on each whole answer clip, one pass: the accuracy streaming is measured against."""
    manifest = json.loads((fixtures / "manifest.json").read_text())
    clips = {c["id"]: c for c in manifest["clips"]}
    engine = ASREngine(ASRConfig())
    rates = []
    try:
        for turn in summary["runs"][0]["turns"]:
            clip = clips[turn["clip"]]
            if clip["role"] not in ("answer", "follow_up_answer"):
                continue
            with wave.open(str(fixtures / clip["file"])) as w:
                pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
            text = asyncio.run(engine.transcribe(pcm, language)).text
            rates.append(client.error_rate(clip["text"], text, language))
    finally:
        engine.close()
    return round(statistics.mean(rates), 3) if rates else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--languages", nargs="+", default=["en", "zh"])
    ap.add_argument(
        "--transport", nargs="+", default=["ws"], choices=["ws", "rtc"], help="rtc: WebRTC (aiortc); several: one run"
    )
    args = ap.parse_args()
    client = reference_client()
    print(f"machine: {machine()}")
    header = (
        f"{'via':<5}{'lang':<5}{'turns':>6}{'p50 s':>7}{'p95 s':>7}{'max s':>7}{'cut':>5}{'WER str':>9}{'WER off':>9}"
        f"{'partial p50/p95 s':>19}{'final p50/p95 s':>17}{'CPU s/audio s':>15}  rephrase/repeat"
    )
    print("speech end -> next question; delays = message sent - end of the audio it covers")
    print(header)
    with server() as srv:
        for transport, language in [(t, lang) for t in args.transport for lang in args.languages]:
            fixtures = FIXTURES / f"backend_{language}"
            cpu0 = srv.cpu_seconds()
            summary = run_client(srv, fixtures, "--transport", transport)
            cpu = srv.cpu_seconds() - cpu0
            run = summary["runs"][0]
            events = asyncio.run(replay(srv.base, run["interview_id"]))
            partial = [e["t"] - e["end"] for e in events if e.get("type") == "transcript" and not e["final"]]
            final = [e["t"] - e["end"] for e in events if e.get("type") == "transcript" and e["final"]]
            offline = offline_error(fixtures, summary, language, client)
            lat = summary["latency_s"] if "latency_s" in summary else run["latency_s"]
            print(
                f"{transport:<5}{language:<5}{len(lat):>6}{pct(lat, 50)!s:>7}{pct(lat, 95)!s:>7}{pct(lat, 100)!s:>7}"
                f"{summary['cut_offs']:>5}{summary['wer_mean']!s:>9}{offline!s:>9}"
                f"{f'{pct(partial, 50)}/{pct(partial, 95)}':>19}{f'{pct(final, 50)}/{pct(final, 95)}':>17}"
                f"{cpu / max(audio_seconds(summary, fixtures), 1e-9):>15.3f}  "
                f"{summary['rephrase_ok'][0]}/{summary['repeat_ok'][0]}"
            )


if __name__ == "__main__":
    main()
