"""Latency of dialogue.semantic.SentenceEncoder: load, then embed() of 1 and of 8 ~30-word sentences.

Run: .venv/bin/python bench/semantic_encoder.py [--repeats N]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialogue.semantic import SentenceEncoder

SENTENCES = [
    "Two days before a major product launch our checkout service started failing under load tests, so"
    " I split the team into two groups, profiled the hot path and shipped a fix with a day to spare.",
    "When our biggest customer threatened to leave, I flew out to meet them, listened to every "
    "complaint, wrote a recovery plan with dates, and reported progress to them every single week "
    "until they renewed.",
    "I disagreed with my manager about rewriting the billing system from scratch, so I built a small "
    "prototype of the incremental approach and we compared both options with real numbers before "
    "deciding together.",
    "My first project as a team lead slipped by three weeks because I underestimated the data "
    "migration, and since then I always ask the engineers doing the work to estimate it themselves "
    "and add explicit buffers.",
    "I taught myself Kubernetes over a long weekend because our only platform engineer was on leave, "
    "and by Monday I had moved our staging environment onto the new cluster without any downtime for "
    "the testers.",
    "To reduce our on-call pages I grouped three months of alerts by cause, deleted the noisy ones "
    "nobody acted on, and wrote runbooks for the rest, which cut the pages in half within the "
    "following month.",
    "A junior colleague kept missing deadlines, so instead of escalating I paired with him for a "
    "week, found he was blocked on unclear requirements, and we agreed he would raise blockers at "
    "every morning standup.",
    "The hardest bug I fixed was a race condition in our payment retries that double charged about "
    "one customer in ten thousand; I reproduced it with a stress test and replaced the retry loop "
    "with idempotency keys.",
]


def _time_ms(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(samples), min(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()

    start = time.perf_counter()
    encoder = SentenceEncoder.load()
    load_ms = (time.perf_counter() - start) * 1000.0
    words = statistics.mean(len(s.split()) for s in SENTENCES)
    # Other processes skew these numbers on a 2-core box; the load average says when to distrust them.
    print(
        f"model {encoder.name}, cpus {len(os.sched_getaffinity(0))}, "
        f"load average {os.getloadavg()[0]:.2f}, sentences of ~{words:.0f} words"
    )
    print(f"load: {load_ms:.0f} ms")

    encoder.embed(SENTENCES)  # warm-up: first BLAS calls allocate thread pools and buffers
    one = SENTENCES[:1]
    for label, batch in (("embed 1 sentence", one), (f"embed {len(SENTENCES)} sentences", SENTENCES)):
        median, best = _time_ms(functools.partial(encoder.embed, batch), args.repeats)
        print(f"{label}: median {median:.1f} ms, best {best:.1f} ms ({args.repeats} runs)")
    median, best = _time_ms(functools.partial(encoder.similarity, SENTENCES[0], SENTENCES[1]), args.repeats)
    print(f"similarity (2 sentences): median {median:.1f} ms, best {best:.1f} ms")


if __name__ == "__main__":
    main()
