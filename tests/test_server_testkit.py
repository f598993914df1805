"""server_testkit.start_server: a server whose start-up hangs fails the test with where it hangs, well before the
suite's per-test timeout (whose own traceback shows only the event loop's selector)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import server_testkit
from server_testkit import model_free_server

from server.services import Services


async def test_a_start_up_that_hangs_is_reported_with_the_await_it_hangs_on(
    monkeypatch: pytest.MonkeyPatch, free_port: Callable[[], int]
) -> None:
    async def a_start_that_never_ends(self: Services) -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(Services, "start", a_start_that_never_ends)
    monkeypatch.setattr(server_testkit, "STARTUP_LIMIT_S", 1.0)
    with pytest.raises(RuntimeError, match=r"did not start in 1 s") as failed:
        async with model_free_server(free_port(), "hang-test-key", "shanmian-hang-"):
            pass
    assert "a_start_that_never_ends" in str(failed.value)
    assert "thread MainThread:" in str(failed.value)
