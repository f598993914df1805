"""Sessions per server: 1, 4, 8 and 12 voice candidates on one server, in real time, all at once and staggered.

Prints for each N and start: completed sessions, speech end -> next question p50/p95/max, the closing answer's end ->
report (the scorer's backlog: the reference client counts it among its latencies), cut-offs, WER, the server's CPU
(cores busy on average, CPU seconds per second of candidate audio), memory (resident before the run, the peak
during it, and the growth per session) and the event loop's longest stall (the server's own probe, from /metrics). The scoring model runs as in production: each answer judged in the
background as its turn ends.

"at once": all N connect in the same second (the worst case). "staggered": the k-th candidate connects k/N of
--stagger-s after the first, as candidates who open their links at different moments do. With --repeat R each row
is run R times and the p95 printed as min/median/max over the runs (the figure moves between runs on a shared box).

usage: python bench/capacity.py [--sessions 1 4 8 12] [--start at-once staggered] [--stagger-s 60] [--repeat 1]
                                [--language en]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from harness import FIXTURES, Server, ServerWatch, audio_seconds, machine, pct, run_client, run_staggered, server


def run(srv: Server, fixtures: Path, n: int, start: str, stagger_s: float) -> dict[str, Any]:
    if start == "staggered" and n > 1:
        return run_staggered(srv, fixtures, n, stagger_s)
    return run_client(srv, fixtures, "--sessions", str(n))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", nargs="+", type=int, default=[1, 4, 8, 12])
    ap.add_argument("--start", nargs="+", choices=["at-once", "staggered"], default=["at-once", "staggered"])
    ap.add_argument("--stagger-s", type=float, default=60.0, help="staggered: the last candidate connects this late")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each row; p95 printed as min/median/max")
    ap.add_argument("--language", default="en")
    args = ap.parse_args()
    fixtures = FIXTURES / f"backend_{args.language}"
    print(f"machine: {machine()}")
    print(
        f"{'N':>3} {'start':<10}{'done':>6}{'p50 s':>8}{'p95 s':>8}{'p95 min/med/max':>17}{'max s':>8}"
        f"{'report p50/max s':>18}{'cut':>5}{'WER':>7}{'cores':>7}{'CPU s/audio s':>15}"
        f"{'RSS MB idle/peak':>18}{'MB/session':>12}{'loop stall ms':>15}"
    )
    with server() as srv, ServerWatch(srv) as watch:
        for n in args.sessions:
            for start in args.start if n > 1 else ["at-once"]:
                lat: list[float] = []
                report: list[float] = []
                p95s: list[float] = []
                done = cut = 0
                wers: list[float] = []
                cpu = wall = audio = 0.0
                idle = peak = stall = 0.0
                for _ in range(args.repeat):
                    watch.reset()
                    idle = max(idle, watch.peak_mb)
                    cpu0, t0 = srv.cpu_seconds(), time.monotonic()
                    summary = run(srv, fixtures, n, start, args.stagger_s)
                    cpu, wall = cpu + srv.cpu_seconds() - cpu0, wall + time.monotonic() - t0
                    peak, stall = max(peak, watch.peak_mb), max(stall, watch.worst_stall_s)
                    turns = [t for r in summary.get("runs", []) for t in r.get("turns", []) if "latency_s" in t]
                    asked = [
                        t["latency_s"] for t in turns if t.get("next") not in ("report", "closed", "_socket_closed")
                    ]
                    lat += asked
                    p95s.append(pct(asked, 95) or 0.0)
                    report += [t["latency_s"] for t in turns if t.get("next") == "report"]
                    done += summary.get("completed", 0)
                    cut += summary.get("cut_offs", 0)
                    if summary.get("wer_mean") is not None:
                        wers.append(summary["wer_mean"])
                    audio += audio_seconds(summary, fixtures)
                spread = f"{min(p95s):.2f}/{statistics.median(p95s):.2f}/{max(p95s):.2f}"
                print(
                    f"{n:>3} {start:<10}{f'{done}/{n * args.repeat}':>6}{pct(lat, 50)!s:>8}{pct(lat, 95)!s:>8}"
                    f"{spread:>17}{pct(lat, 100)!s:>8}{f'{pct(report, 50)}/{pct(report, 100)}':>18}{cut:>5}"
                    f"{round(statistics.mean(wers), 3) if wers else None!s:>7}{cpu / wall:>7.2f}"
                    f"{cpu / max(audio, 1e-9):>15.3f}{f'{idle:.0f}/{peak:.0f}':>18}{(peak - idle) / n:>12.1f}"
                    f"{stall * 1000:>15.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
