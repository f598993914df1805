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
from server_testkit import STORED_PLAN

from dialogue.report import Recommendation, Report, ScorerInfo
from server.db.status import InterviewStatus, ReportSource
from server.db.store import InterviewEnded, Store, report_from_json
from server.db.tables import CandidateRow, InterviewRow, JobRow
from server.settings import Settings


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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return f"sqlite:///{tmp_path / 'cas.db'}"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(Settings.from_env({}, api_key="k", database_url=database_url).sqlalchemy_url)
    yield opened
    await opened.close()


async def _interview_row(store: Store) -> str:
    suffix = uuid.uuid4().hex[:8]
    job = await store.add_job(JobRow(id=f"j{suffix}", title="t", description="", requirements=[], language="en",
                                     pass_threshold=6.0, plan=STORED_PLAN))  # fmt: skip
    await store.add_candidate(CandidateRow(id=f"c{suffix}", name="n"))
    row = InterviewRow(id=f"i{suffix}", job_id=job.id, candidate_id=f"c{suffix}", mode="text",
                       status=InterviewStatus.SCHEDULED, candidate_token=uuid.uuid4().hex,
                       observer_token=uuid.uuid4().hex)  # fmt: skip
    await store.add_interview(row)
    return row.id


async def test_the_stored_status_is_a_compare_and_set(store: Store) -> None:
    iid = await _interview_row(store)
    assert await store.set_status(iid, InterviewStatus.LIVE)
    assert await store.set_status(iid, InterviewStatus.COMPLETED, reason="completed")
    assert not await store.set_status(iid, InterviewStatus.ABANDONED, reason="candidate_left")
    with pytest.raises(InterviewEnded):
        await store.set_status(iid, InterviewStatus.LIVE)
    stored = await store.interview(iid)
    assert stored is not None and (stored.status, stored.end_reason) == ("completed", "completed")


async def test_report_versions_are_appended_never_replaced(store: Store) -> None:
    iid = await _interview_row(store)
    first, second = _report(6.0), _report(7.5)
    assert await store.save_report(iid, first) == 1
    assert await store.save_report(iid, second, source=ReportSource.RESCORE) == 2
    versions = await store.report_versions(iid)
    assert [(v.version, v.source) for v in versions] == [(1, "interview"), (2, "rescore")]
    assert report_from_json(versions[0].report) == first and report_from_json(versions[1].report) == second
    current = await store.interview(iid)
    assert current is not None and current.report == versions[1].report, "the interview shows the newest"


def _report(overall: float) -> Report:
    return Report(
        overall=overall, recommendation=Recommendation.HOLD, needs_human_review=False, dimensions=(), answers=(), strengths=(),
        weaknesses=(), suggestions=(), scored_by="rules", scorer=ScorerInfo("none", None, "v1"), pass_threshold=6.0,
        language="en", answered_questions=0, total_questions=0,
    )  # fmt: skip
