"""Text-mode turn latency: the time from an answer arriving to the next question leaving, and the time to score.

Starts a real server (`shanmian serve`, embedded defaults) on a free port with a throwaway database, plays the
fixture interviews in text mode over the WebSocket, and prints p50/p95 per kind of next question plus scoring time.

usage: python bench/text_turn.py [--rounds 3] [--fixtures ../shared/fixtures/interviews]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
from harness import FIXTURES, KEY, machine, pct, server


async def one_interview(base: str, manifest: dict[str, Any], quality: str, samples: dict[str, list[float]]) -> None:
    sc = manifest["scenario"]
    clips = manifest["clips"]

    def text(**want: Any) -> str | None:
        return next((c["text"] for c in clips if all(c.get(k) == v for k, v in want.items())), None)

    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        job = (await http.post("/v1/jobs", json=dict(sc["job"], questions=[{"text": q} for q in sc["questions"]]))).json()
        cand = (await http.post("/v1/candidates", json={"name": "Bench"})).json()
        iv = (await http.post("/v1/interviews", json={"job_id": job["id"], "candidate_id": cand["id"], "mode": "text"})).json()
    url = base.replace("http", "ws", 1) + f"/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "mode": "text"}))
        sent_at, asked_rephrase = 0.0, False
        async for raw in ws:
            m = json.loads(raw)
            now = time.perf_counter()
            if m["type"] == "question":
                if sent_at:
                    samples.setdefault(m["kind"], []).append(now - sent_at)
                if m["kind"] == "closing":
                    answer = text(role="closing_answer")
                elif m["kind"] == "follow_up":
                    answer = text(role="follow_up_answer")
                elif m["kind"] == "main" and m["index"] == 1 and not asked_rephrase:
                    asked_rephrase, answer = True, text(role="rephrase_request")
                else:
                    answer = text(role="answer", question=m["index"], quality=quality) or text(
                        role="answer", question=m["index"]
                    )
                sent_at = time.perf_counter()
                await ws.send(json.dumps({"type": "answer", "text": answer}))
            elif m["type"] == "report":
                samples.setdefault("score (closing answer -> report)", []).append(now - sent_at)
            elif m["type"] == "closed":
                return


async def play_all(base: str, args: argparse.Namespace) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for name in ("backend_en", "backend_zh"):
            manifest = json.loads((Path(args.fixtures) / name / "manifest.json").read_text())
            for quality in ("strong", "weak"):
                await one_interview(base, manifest, quality, samples)
    return samples


def report(samples: dict[str, list[float]]) -> None:
    print(f"machine: {machine()}")
    print(f"{'answer -> next question':<36} {'n':>4} {'p50 s':>8} {'p95 s':>8}")
    turn_kinds = [k for k in samples if not k.startswith("score")]
    every = [x for k in turn_kinds for x in samples[k]]
    for kind in [*turn_kinds, "all"]:
        xs = every if kind == "all" else samples[kind]
        print(f"{kind:<36} {len(xs):>4} {pct(xs, 50)!s:>8} {pct(xs, 95)!s:>8}")
    for kind, xs in samples.items():
        if kind.startswith("score"):
            print(f"{kind:<36} {len(xs):>4} {pct(xs, 50)!s:>8} {pct(xs, 95)!s:>8}")
    print(f"mean of all turns: {statistics.mean(every):.3f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--fixtures", default=str(FIXTURES))
    args = ap.parse_args()
    with server() as srv:
        samples = asyncio.run(play_all(srv.base, args))
    report(samples)


if __name__ == "__main__":
    main()
