"""The workers' polling loop: rounds with work run back to back, an idle loop waits for a wake or the poll, and a
failed round is logged without stopping the loop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from server.polling import PollingWorker


class Scripted(PollingWorker):
    """Each round takes the next planned result: a count of work done, or an exception to raise."""

    def __init__(self, plan: list[int | Exception], poll_s: float) -> None:
        super().__init__("test worker", "tw", poll_s)
        self.plan = plan
        self.rounds = 0
        self.idle = asyncio.Event()

    async def run_once(self) -> int:
        self.rounds += 1
        step = self.plan.pop(0) if self.plan else 0
        if not self.plan:
            self.idle.set()
        if isinstance(step, Exception):
            raise step
        return step


async def test_rounds_that_did_work_run_again_without_waiting_for_the_poll() -> None:
    worker = Scripted([3, 2, 1, 0], poll_s=60)
    worker.start()
    try:
        await asyncio.wait_for(worker.idle.wait(), 5)
        assert worker.rounds == 4
    finally:
        await worker.aclose()


async def test_an_idle_worker_runs_a_round_when_woken_and_not_before() -> None:
    worker = Scripted([0], poll_s=60)
    worker.start()
    try:
        await asyncio.wait_for(worker.idle.wait(), 5)
        await asyncio.sleep(0.2)
        assert worker.rounds == 1, "an idle worker waits for its poll"
        worker.wake()
        for _ in range(50):
            if worker.rounds == 2:
                break
            await asyncio.sleep(0.02)
        assert worker.rounds == 2
    finally:
        await worker.aclose()


async def test_an_idle_worker_polls_on_its_interval() -> None:
    worker = Scripted([0], poll_s=0.05)
    worker.start()
    try:
        await asyncio.sleep(0.5)
        assert worker.rounds >= 3
    finally:
        await worker.aclose()


async def test_a_failed_round_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    worker = Scripted([RuntimeError("database away"), 1, 0], poll_s=0.05)
    with caplog.at_level(logging.ERROR, logger="server.polling"):
        worker.start()
        try:
            await asyncio.wait_for(worker.idle.wait(), 5)
        finally:
            await worker.aclose()
    assert worker.rounds >= 3
    assert any("test worker tw_" in r.getMessage() and "a round failed" in r.getMessage() for r in caplog.records)


async def test_closing_stops_the_loop_and_closing_again_is_harmless() -> None:
    worker = Scripted([0], poll_s=0.05)
    worker.start()
    await asyncio.sleep(0.1)
    await worker.aclose()
    rounds = worker.rounds
    await asyncio.sleep(0.2)
    assert worker.rounds == rounds
    await worker.aclose()
