"""Two real server processes sharing PostgreSQL and Redis: a candidate on A, observers on B follow live, with no
event lost or duplicated; B reads the transcript A wrote.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from server_testkit import (
    REPORT_WAIT_S,
    Api,
    Stream,
    answer_for,
    assert_hr_and_candidate_reports,
    clear_redis_prefix,
    interview_scenario,
    report_views_apart,
    two_processes,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres]
OBSERVER_ONLY = ("candidate_joined", "candidate_left", "comment")


@pytest.fixture(scope="module")
def shared_services(
    postgres_database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    import uuid

    prefix = f"shanmian-test-{uuid.uuid4().hex[:12]}"
    yield {
        "DATABASE_URL": postgres_database,
        "REDIS_URL": redis_url,
        "SHANMIAN_REDIS_PREFIX": prefix,
        "SHANMIAN_DATA_DIR": str(tmp_path_factory.mktemp("two-process")),
    }
    clear_redis_prefix(redis_url, prefix)


@pytest.fixture(scope="module")
async def two_servers(shared_services: dict[str, str], free_port: Callable[[], int]) -> AsyncIterator[tuple[str, str]]:
    async with two_processes(shared_services, free_port) as bases:
        yield bases


async def collect(url: str, into: list[dict[str, Any]], following: asyncio.Event) -> None:
    """What an observer gets, up to the interview's `closed`; `following` is set once its history is sent."""
    async with websockets.connect(url, max_size=2**22) as ws:
        await ws.send(json.dumps({"type": "ping"}))  # answered only after the history: the seam
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), REPORT_WAIT_S))
            if message["type"] == "pong":
                following.set()
                continue
            into.append(message)
            if message["type"] == "closed":
                return


@pytest.mark.timeout(900)  # among the slowest real-model tests: see timeout in pyproject.toml
async def test_observers_on_another_process_follow_a_whole_interview_exactly(
    two_servers: tuple[str, str], fixtures_dir: Path
) -> None:
    base_a, base_b = two_servers
    spec, clips = interview_scenario(fixtures_dir)
    api_a, api_b = Api(base_a, "two-process-key"), Api(base_b, "two-process-key")
    iv = await api_a.interview(spec)
    ws_a, ws_b = base_a.replace("http", "ws", 1), base_b.replace("http", "ws", 1)
    observe = f"{ws_b}/v1/interviews/{iv['id']}/observe?token={iv['observer_token']}"

    early: list[dict[str, Any]] = []
    late: list[dict[str, Any]] = []
    early_task = asyncio.create_task(collect(observe, early, early_following := asyncio.Event()))
    await asyncio.wait_for(early_following.wait(), 30)  # watching before the candidate arrives
    candidate = await Stream.open(f"{ws_a}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    await candidate.send({"type": "hello", "mode": "text"})
    late_task = None
    answered = 0
    while True:
        m = await candidate.next(REPORT_WAIT_S)
        if m["type"] == "question":
            await candidate.send({"type": "answer", "text": answer_for(clips, m)})
            answered += 1
            if answered == 2:  # a second observer joins midway, on process B too: history, then live
                late_task = asyncio.create_task(collect(observe, late, asyncio.Event()))
        elif m["type"] == "closed":
            break
    await asyncio.wait_for(asyncio.gather(early_task, *([late_task] if late_task else [])), REPORT_WAIT_S)

    candidate_events = [m for m in candidate.received if m.get("seq")]
    for seen in (early, late):
        session = [m for m in seen if m["type"] not in OBSERVER_ONLY]
        # Only the report differs: the observer's is HR's, the candidate's their own view.
        assert report_views_apart(session) == report_views_apart(candidate_events), (
            "the observer on B saw exactly the candidate's events, in order"
        )
        assert_hr_and_candidate_reports(session, candidate_events)
        seqs = [m["seq"] for m in seen]
        assert seqs == sorted(set(seqs)), "no event twice"
        assert {m["type"] for m in seen} - {m["type"] for m in session} <= set(OBSERVER_ONLY)
    assert early[0]["type"] == "candidate_joined"

    # B reads what A wrote: the same PostgreSQL.
    body = (await api_b.get(f"/v1/interviews/{iv['id']}")).json()
    assert body["status"] == "completed" and len(body["transcript"]) == answered
    seen_by_candidate = next(m for m in candidate.received if m["type"] == "report")["report"]
    mine = await api_b.get(f"/v1/interviews/{iv['id']}/report", auth=False, token=iv["candidate_token"])
    assert body["report"] is not None and mine.json() == seen_by_candidate


async def test_a_comment_made_on_one_process_reaches_observers_on_the_other(
    two_servers: tuple[str, str], fixtures_dir: Path
) -> None:
    base_a, base_b = two_servers
    spec, _ = interview_scenario(fixtures_dir)
    iv = await Api(base_a, "two-process-key").interview(spec)
    url = "{}/v1/interviews/{}/observe?token={}"
    on_a = Stream(await websockets.connect(url.format(base_a.replace("http", "ws", 1), iv["id"], iv["observer_token"])))
    on_b = Stream(await websockets.connect(url.format(base_b.replace("http", "ws", 1), iv["id"], "two-process-key")))
    for observer in (on_a, on_b):
        await observer.replay()  # following live before the comment is made
    await on_b.send({"type": "comment", "text": "Watching from B."})
    for observer in (on_a, on_b):
        got = await observer.until("comment", 5)
        assert (got["author"], got["text"]) == ("hr", "Watching from B.")
    await on_a.close()
    await on_b.close()
