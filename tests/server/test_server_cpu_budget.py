"""Thread defaults follow the cores the server may use; settings still override them."""

from __future__ import annotations

import os

import pytest

from media.asr import ASRConfig
from server.cpu_budget import ThreadBudget, usable_cores
from server.settings import Settings


def test_two_cores_get_the_measured_two_core_setup() -> None:
    budget = ThreadBudget.for_cores(2)
    asr = ASRConfig()
    assert (budget.asr_workers, budget.asr_threads) == (asr.workers, asr.cpu_threads)
    assert (budget.llm_threads, budget.score_threads, budget.plan_threads) == (2, 1, 1)


@pytest.mark.parametrize("cores", [1, 2, 3, 4, 6, 8, 16, 32, 96])
def test_more_cores_never_get_fewer_threads_and_models_stay_within_four(cores: int) -> None:
    budget, more = ThreadBudget.for_cores(cores), ThreadBudget.for_cores(cores * 2)
    assert all(getattr(more, f) >= getattr(budget, f) for f in budget.__slots__)
    assert max(budget.llm_threads, budget.score_threads, budget.plan_threads) <= 4
    assert budget.asr_workers * budget.asr_threads <= max(2, cores)


def test_sixteen_cores_give_speech_recognition_a_worker_per_two_cores_and_the_models_four_threads() -> None:
    assert ThreadBudget.for_cores(16) == ThreadBudget(
        asr_workers=8, asr_threads=1, llm_threads=4, score_threads=4, plan_threads=2
    )


def test_the_usable_cores_are_this_process_cpu_set() -> None:
    assert usable_cores() == len(os.sched_getaffinity(0))


def test_settings_default_to_this_machine_budget_and_the_environment_overrides_it() -> None:
    budget = ThreadBudget.for_cores(usable_cores())
    settings = Settings.from_env({}, api_key="k")
    assert (settings.asr_workers, settings.llm_threads, settings.score_threads) == (
        budget.asr_workers,
        budget.llm_threads,
        budget.score_threads,
    )
    assert Settings.from_env({"SHANMIAN_SCORE_THREADS": "3"}, api_key="k").score_threads == 3
