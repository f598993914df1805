"""The scorer's read queue: one read at a time, arrival order, and a waiting report's reads first."""

from __future__ import annotations

import asyncio

import pytest

from dialogue.read_queue import ReadQueue, Urgency


async def _run(queue: ReadQueue, name: str, urgency: Urgency, log: list[str], hold: asyncio.Event) -> None:
    async with queue.slot(urgency):
        log.append(name)
        await hold.wait()


async def _queued(queue: ReadQueue, n: int) -> None:
    """Let the tasks just created reach the queue (each needs one turn of the event loop)."""
    for _ in range(100):
        if queue.depth >= n:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{queue.depth} reads queued, expected {n}")


async def test_reads_run_one_at_a_time_in_arrival_order() -> None:
    queue, log, release = ReadQueue(), [], asyncio.Event()
    first = asyncio.create_task(_run(queue, "a", Urgency(), log, release))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(_run(queue, name, Urgency(), log, release)) for name in "bcd"]
    await _queued(queue, 3)
    assert log == ["a"]
    release.set()
    await asyncio.gather(first, *rest)
    assert log == ["a", "b", "c", "d"]


async def test_a_session_whose_report_is_awaited_goes_before_reads_queued_earlier() -> None:
    queue, log = ReadQueue(), []
    gates = {name: asyncio.Event() for name in "abcd"}
    closing = Urgency()
    tasks = [asyncio.create_task(_run(queue, "a", Urgency(), log, gates["a"]))]
    await asyncio.sleep(0)
    tasks += [
        asyncio.create_task(_run(queue, "b", Urgency(), log, gates["b"])),
        asyncio.create_task(_run(queue, "c", closing, log, gates["c"])),
        asyncio.create_task(_run(queue, "d", closing, log, gates["d"])),
    ]
    await _queued(queue, 3)
    closing.waiting = True  # raised after its reads were queued: they are lifted all the same
    for name in "acdb":
        gates[name].set()
    await asyncio.gather(*tasks)
    assert log == ["a", "c", "d", "b"]


async def test_a_cancelled_read_gives_its_place_to_the_next() -> None:
    queue, log, release = ReadQueue(), [], asyncio.Event()
    first = asyncio.create_task(_run(queue, "a", Urgency(), log, release))
    await asyncio.sleep(0)
    dropped = asyncio.create_task(_run(queue, "b", Urgency(), log, release))
    kept = asyncio.create_task(_run(queue, "c", Urgency(), log, release))
    await _queued(queue, 2)
    dropped.cancel()
    release.set()
    await asyncio.gather(first, kept)
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert log == ["a", "c"]
    assert queue.depth == 0


async def test_a_read_that_fails_frees_its_slot() -> None:
    queue = ReadQueue()
    with pytest.raises(RuntimeError):
        async with queue.slot():
            raise RuntimeError("model failed")
    async with asyncio.timeout(1):
        async with queue.slot():
            pass
