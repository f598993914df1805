"""How many threads each engine gets on the machine the server runs on: the defaults of the thread settings.

Measured on 2 cores (README "Performance"): two one-thread speech-recognition workers, two threads for question
wording (a candidate waits on it), one niced thread for scoring and one for plan drafting, since llama.cpp's
threads spin-wait on each other when the cores are busy. A bigger machine gives the extra cores first to speech
recognition (one worker per two cores: each candidate's finals are what the next question waits on), then to the
models, up to four threads each (llama.cpp gains little beyond that at these model sizes). While no voice
interview runs, the scorer takes every core (up to four): nothing else needs them then.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MAX_MODEL_THREADS = 4


def usable_cores() -> int:
    """The cores this process may run on (taskset and container CPU sets count), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux: all the machine's cores
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class ThreadBudget:
    asr_workers: int
    asr_threads: int
    llm_threads: int
    score_threads: int
    plan_threads: int

    @classmethod
    def for_cores(cls, cores: int) -> ThreadBudget:
        small = cores <= 4
        models = min(MAX_MODEL_THREADS, max(1, cores // 4))
        return cls(
            asr_workers=max(2, cores // 2),
            asr_threads=1,
            llm_threads=2 if small else max(2, models),
            score_threads=1 if small else models,
            plan_threads=1 if small else 2,
        )


DEFAULT = ThreadBudget.for_cores(usable_cores())


@dataclass(slots=True)
class ScoringThreads:
    """The scoring model's threads for its next answer: `busy` while a voice interview runs on this node (speech
    recognition needs the cores, and llama.cpp's threads spin-wait on each other when one of them is preempted),
    `idle` otherwise: typed interviews leave the cores to the scorer, and a report waits on it."""

    busy: int
    idle: int
    voice_sessions: int = 0

    @classmethod
    def for_setting(cls, busy: int, cores: int | None = None) -> ScoringThreads:
        return cls(busy, max(busy, min(MAX_MODEL_THREADS, cores or usable_cores())))

    def __call__(self) -> int:
        return self.busy if self.voice_sessions > 0 else self.idle
