"""Sessions per server: 1, 2, 4 and 8 concurrent voice candidates on one server, in real time.

Prints for each N: completed sessions, speech end -> next question p50/p95/max, the closing answer's end -> report
(the scorer's backlog: the reference client counts it among its latencies), cut-offs, WER, and the server's CPU (cores
busy on average, and CPU seconds per second of candidate audio). The scoring model runs as in production: each
answer judged in the background as its turn ends.

usage: python bench/capacity.py [--sessions 1 2 4 8] [--language en]
"""

from __future__ import annotations

import argparse
import time

from harness import FIXTURES, audio_seconds, machine, pct, run_client, server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", nargs="+", type=int, default=[1, 2, 4, 8])
    ap.add_argument("--language", default="en")
    args = ap.parse_args()
    fixtures = FIXTURES / f"backend_{args.language}"
    print(f"machine: {machine()}")
    print(
        f"{'N':>3}{'done':>6}{'p50 s':>8}{'p95 s':>8}{'max s':>8}{'report p50/max s':>18}{'cut':>5}{'WER':>7}"
        f"{'cores busy':>12}{'CPU s/audio s':>15}"
    )
    with server() as srv:
        for n in args.sessions:
            cpu0, t0 = srv.cpu_seconds(), time.monotonic()
            summary = run_client(srv, fixtures, "--sessions", str(n))
            cpu, wall = srv.cpu_seconds() - cpu0, time.monotonic() - t0
            turns = [t for r in summary.get("runs", []) for t in r.get("turns", []) if "latency_s" in t]
            lat = [t["latency_s"] for t in turns if t.get("next") not in ("report", "closed", "_socket_closed")]
            report = [t["latency_s"] for t in turns if t.get("next") == "report"]
            print(
                f"{n:>3}{summary.get('completed', 0):>6}{pct(lat, 50)!s:>8}{pct(lat, 95)!s:>8}{pct(lat, 100)!s:>8}"
                f"{f'{pct(report, 50)}/{pct(report, 100)}':>18}"
                f"{summary.get('cut_offs', 0):>5}{summary.get('wer_mean')!s:>7}{cpu / wall:>12.2f}"
                f"{cpu / max(audio_seconds(summary, fixtures), 1e-9):>15.3f}"
            )


if __name__ == "__main__":
    main()
