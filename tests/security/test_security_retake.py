"""Issue 14, High 3: a finished interview cannot be taken again, over a connection let in before it finished or a
new one, and its report is never overwritten: a re-score is a new report version, the earlier ones kept.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from security_testkit import ANSWER, InProcessServer, hr, schedule, start_in_process

from server.db.status import InterviewStatus
from server.db.store import InterviewEnded, Store
from server.db.tables import CandidateRow, InterviewRow, JobRow


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessServer]:
    # A connection may wait for its hello while a whole interview runs on another one.
    running = await start_in_process(tmp_path_factory.mktemp("retake"), hello_timeout_s=60.0)
    yield running
    await running.stop()


async def _next(ws: Any, seconds: float = 30) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), seconds))
    return message


async def _complete(url: str) -> list[dict[str, Any]]:
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "mode": "text"}))
        seen = []
        while (message := await _next(ws))["type"] != "closed":
            seen.append(message)
            if message["type"] == "question":
                await ws.send(json.dumps({"type": "answer", "text": ANSWER}))
        return seen


async def test_hello_after_the_interview_finished_is_session_closed_and_the_report_stays(
    server: InProcessServer,
) -> None:
    iv = await schedule(server.base)
    url = f"{server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}"
    async with httpx.AsyncClient(base_url=server.base, headers=hr()) as api:
        async with websockets.connect(url) as stale:  # let in while the interview is scheduled
            seen = await _complete(url)
            assert any(m["type"] == "report" for m in seen)
            report = (await api.get(f"/v1/interviews/{iv['id']}/report")).json()

            await stale.send(json.dumps({"type": "hello", "mode": "text"}))
            answer = await _next(stale)
            assert (answer["type"], answer["code"]) == ("error", "session_closed"), answer
            assert await _next(stale) == {"type": "closed", "reason": "session_closed", "t": 0.0, "seq": 0}
            with pytest.raises(websockets.ConnectionClosed):
                await _next(stale)  # and the connection is closed, with no `ready` or question before

        async with websockets.connect(url) as late:
            await late.send(json.dumps({"type": "hello", "mode": "text"}))
            answer = await _next(late)
            assert (answer["type"], answer["code"]) == ("error", "session_closed"), answer

        after = (await api.get(f"/v1/interviews/{iv['id']}")).json()
        assert after["status"] == "completed"
        assert (await api.get(f"/v1/interviews/{iv['id']}/report")).json() == report
        versions = (await api.get(f"/v1/interviews/{iv['id']}/reports")).json()
        assert [(v["version"], v["source"]) for v in versions] == [(1, "interview")]


async def test_a_rescore_is_a_new_report_version_and_keeps_the_first(server: InProcessServer) -> None:
    iv = await schedule(server.base)
    await _complete(f"{server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    async with httpx.AsyncClient(base_url=server.base, headers=hr(), timeout=60) as api:
        first = (await api.get(f"/v1/interviews/{iv['id']}/report")).json()
        rescored = await api.post(f"/v1/interviews/{iv['id']}/score")
        assert rescored.status_code == 200, rescored.text
        versions = (await api.get(f"/v1/interviews/{iv['id']}/reports")).json()
        assert [(v["version"], v["source"]) for v in versions] == [(1, "interview"), (2, "rescore")]
        assert versions[0]["report"] == first, "the first report is kept as it was"
        assert (await api.get(f"/v1/interviews/{iv['id']}/report")).json() == versions[1]["report"], "newest"
        assert (await api.get(f"/v1/interviews/{iv['id']}/reports")).status_code == 200
        assert (await api.get("/v1/interviews/nope/reports")).status_code == 404
        assert (await api.get(f"/v1/interviews/{iv['id']}/reports", headers={"Authorization": ""})).status_code == 401


async def test_the_stored_status_is_a_compare_and_set(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'cas.db'}")
    try:
        job = await store.add_job(JobRow(id="j", title="t", description="", requirements=[], language="en",
                                         pass_threshold=6.0, plan={}))  # fmt: skip
        await store.add_candidate(CandidateRow(id="c", name="n"))
        row = InterviewRow(id="i", job_id=job.id, candidate_id="c", mode="text", status=InterviewStatus.SCHEDULED,
                           candidate_token=uuid.uuid4().hex, observer_token=uuid.uuid4().hex)  # fmt: skip
        await store.add_interview(row)
        assert await store.set_status("i", InterviewStatus.LIVE)
        assert await store.set_status("i", InterviewStatus.COMPLETED, reason="completed")
        assert not await store.set_status("i", InterviewStatus.ABANDONED, reason="candidate_left")
        with pytest.raises(InterviewEnded):
            await store.set_status("i", InterviewStatus.LIVE)
        stored = await store.interview("i")
        assert stored is not None and (stored.status, stored.end_reason) == ("completed", "completed")
    finally:
        await store.close()
