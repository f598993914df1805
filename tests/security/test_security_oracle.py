"""Issue 14, Low: no id-existence oracle on the streams and the candidate's routes. For the candidate and observer
WebSockets, the WebRTC offer and the consent route, an unknown interview id and a wrong token for a real one get the
same answer (status or error code, message, close code) in about the same time, against a real server; the HR key
still learns of unknown ids.
A candidate token past its days (Medium 8) is answered like a wrong one too, so nobody learns it once worked.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from security_testkit import (
    API_KEY,
    InProcessServer,
    backdate,
    complete,
    hr,
    schedule,
    start_in_process,
    stream_refusal,
)

TRIES = 15  # per case, alternating, so a busy moment of the machine costs both cases alike


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[InProcessServer]:
    srv = await start_in_process(tmp_path)
    yield srv
    await srv.stop()


async def _timed(answer: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = await answer()
    return result, time.perf_counter() - started


async def assert_alike(unknown: Callable[[], Awaitable[Any]], wrong: Callable[[], Awaitable[Any]]) -> None:
    """Both answers identical every time; the medians of their times within 20 ms (or a third) of each other."""
    times: dict[str, list[float]] = {"unknown": [], "wrong": []}
    answers: dict[str, set[Any]] = {"unknown": set(), "wrong": set()}
    for _ in range(TRIES):
        for case, call in (("unknown", unknown), ("wrong", wrong)):
            answer, seconds = await _timed(call)
            answers[case].add(answer)
            times[case].append(seconds)
    assert answers["unknown"] == answers["wrong"] and len(answers["wrong"]) == 1, answers
    a, b = statistics.median(times["unknown"]), statistics.median(times["wrong"])
    assert abs(a - b) < max(0.02, max(a, b) / 3), (a, b)


async def test_the_candidate_stream_answers_an_unknown_id_like_a_wrong_token(server: InProcessServer) -> None:
    iv = await schedule(server.base)
    unknown = f"{server.ws}/v1/interviews/iv_doesnotexist00000000/stream?token={iv['candidate_token']}"
    wrong = f"{server.ws}/v1/interviews/{iv['id']}/stream?token=not-the-token"
    await assert_alike(lambda: stream_refusal(unknown), lambda: stream_refusal(wrong))
    messages, code = await stream_refusal(wrong)
    error = json.loads(messages[0])
    assert error["code"] == "unauthorized" and "join link" in error["message"] and code == 1000


async def test_the_observer_stream_answers_an_unknown_id_like_a_wrong_token(server: InProcessServer) -> None:
    iv = await schedule(server.base)
    unknown = f"{server.ws}/v1/interviews/iv_doesnotexist00000000/observe?token={iv['observer_token']}"
    wrong = f"{server.ws}/v1/interviews/{iv['id']}/observe?token=not-the-token"
    await assert_alike(lambda: stream_refusal(unknown), lambda: stream_refusal(wrong))
    messages, code = await stream_refusal(wrong)
    assert json.loads(messages[0])["code"] == "unauthorized" and code == 1008
    # HR knows which interviews exist: with the HR key an unknown id is simply not found.
    with_key = f"{server.ws}/v1/interviews/iv_doesnotexist00000000/observe?token={API_KEY}"
    messages, _ = await stream_refusal(with_key)
    assert json.loads(messages[0])["code"] == "not_found"


async def test_the_candidate_stream_answers_a_lapsed_token_like_a_wrong_one(server: InProcessServer) -> None:
    iv = await schedule(server.base)
    await complete(server.ws, iv)
    days = server.settings.candidate_token_days
    await backdate(server.settings, iv["id"], ended_at=datetime.now(UTC) - timedelta(days=days, hours=1))
    lapsed = f"{server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}"
    wrong = f"{server.ws}/v1/interviews/{iv['id']}/stream?token=not-the-token"
    await assert_alike(lambda: stream_refusal(lapsed), lambda: stream_refusal(wrong))


async def test_the_webrtc_offer_answers_an_unknown_id_like_a_wrong_token(server: InProcessServer) -> None:
    iv = await schedule(server.base, mode="voice")
    offer = {"sdp": "v=0\r\n", "type": "offer"}
    async with httpx.AsyncClient(base_url=server.base) as c:

        async def post(path: str) -> tuple[int, str]:
            r = await c.post(path, json=offer)
            return r.status_code, r.text

        unknown = f"/v1/interviews/iv_doesnotexist00000000/rtc/offer?token={iv['candidate_token']}"
        wrong = f"/v1/interviews/{iv['id']}/rtc/offer?token=not-the-token"
        await assert_alike(lambda: post(unknown), lambda: post(wrong))
        status, body = await post(wrong)
    assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized"


async def test_the_consent_route_answers_an_unknown_id_like_a_wrong_token(server: InProcessServer) -> None:
    iv = await schedule(server.base, mode="voice")
    async with httpx.AsyncClient(base_url=server.base) as c:

        async def post(path: str, **kwargs: Any) -> tuple[int, str]:
            r = await c.post(path, json={"consent": True}, **kwargs)
            return r.status_code, r.text

        unknown = f"/v1/interviews/iv_doesnotexist00000000/consent?token={iv['candidate_token']}"
        wrong = f"/v1/interviews/{iv['id']}/consent?token=not-the-token"
        await assert_alike(lambda: post(unknown), lambda: post(wrong))
        status, body = await post(wrong)
        assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized"
        # HR knows which interviews exist: with the HR key an unknown id is simply not found.
        status, _ = await post("/v1/interviews/iv_doesnotexist00000000/consent", headers=hr())
        assert status == 404
