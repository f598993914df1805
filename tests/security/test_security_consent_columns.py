"""Issue 14, Medium 6: the candidate's video consent and AI notice acceptance have columns of their own, against a
real model-free server on SQLite and on PostgreSQL. A hello and the consent route each store the video consent on the
recording row (`video_consent`, `consent_source` without any suffix) and the notice's first acceptance on the
interview (`ai_notice_accepted_at`, at the same moment as its audit entry, and `ai_notice_source`); HR's interview
read and the candidate's export show both. A withdrawal takes the video consent back.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
import websockets
from security_testkit import InProcessServer, dumps, hr, schedule, start_in_process
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from server.db.tables import AuditRow, InterviewRow, RecordingRow


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> dict[str, str]:
    """The server's database setting: its own SQLite file (left out), or the session's PostgreSQL database."""
    return {"database_url": str(request.getfixturevalue("postgres_database"))} if request.param == "postgres" else {}


@pytest.fixture(scope="module")
async def server(database: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessServer]:
    running = await start_in_process(tmp_path_factory.mktemp("consent-columns"), **database)
    yield running
    await running.stop()


async def stored(server: InProcessServer, interview_id: str) -> tuple[InterviewRow, RecordingRow, list[AuditRow]]:
    """The interview's row, its recording row and its `ai_notice_accepted` audit entries, as the database holds them."""
    engine = create_async_engine(server.settings.sqlalchemy_url)
    try:
        async with AsyncSession(engine) as s:
            interview = await s.get(InterviewRow, interview_id)
            recording = await s.get(RecordingRow, interview_id)
            query = select(AuditRow).where(
                AuditRow.interview_id == interview_id, AuditRow.action == "ai_notice_accepted"
            )
            notices = list((await s.scalars(query.order_by(AuditRow.seq))).all())
    finally:
        await engine.dispose()
    assert interview is not None and recording is not None
    return interview, recording, notices


async def join(server: InProcessServer, iv: dict[str, Any], hello: dict[str, Any]) -> None:
    """Say the hello and wait until the stream has dealt with its consents: the first question can come before,
    a ping is answered only after."""
    url = f"{server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}"
    async with websockets.connect(url) as ws:
        await ws.send(dumps({"type": "hello", "mode": "text", **hello}))
        while json.loads(await ws.recv())["type"] != "question":
            pass
        await ws.send(dumps({"type": "ping"}))
        while json.loads(await ws.recv())["type"] != "pong":
            pass


async def test_a_hello_stores_the_video_consent_and_the_ai_notice_in_their_columns(server: InProcessServer) -> None:
    iv = await schedule(server.base)
    await join(server, iv, {"consent": True, "video_consent": True, "ai_notice": True})

    interview, recording, notices = await stored(server, iv["id"])
    assert (recording.consent, recording.video_consent, recording.consent_source) == (True, True, "hello")
    assert interview.ai_notice_source == "hello"
    assert [n.created_at for n in notices] == [interview.ai_notice_accepted_at], "one moment, in both places"
    assert interview.ai_notice_accepted_at is not None and interview.started_at is not None
    assert interview.ai_notice_accepted_at <= interview.started_at, "accepted before the interview started"
    async with httpx.AsyncClient(base_url=server.base, headers=hr()) as c:
        read = (await c.get(f"/v1/interviews/{iv['id']}")).json()
        highlights = (await c.get(f"/v1/interviews/{iv['id']}/highlights")).json()
    assert datetime.fromisoformat(read["ai_notice_accepted_at"]) == interview.ai_notice_accepted_at
    assert read["ai_notice_source"] == "hello"
    assert highlights["recording"]["video_consent"] is True


async def test_a_hello_without_the_notice_or_video_consent_stores_neither(server: InProcessServer) -> None:
    iv = await schedule(server.base)
    await join(server, iv, {"consent": True})

    interview, recording, notices = await stored(server, iv["id"])
    assert (recording.consent, recording.video_consent, recording.consent_source) == (True, None, "hello")
    assert (interview.ai_notice_accepted_at, interview.ai_notice_source, notices) == (None, None, [])
    async with httpx.AsyncClient(base_url=server.base, headers=hr()) as c:
        read = (await c.get(f"/v1/interviews/{iv['id']}")).json()
    assert (read["ai_notice_accepted_at"], read["ai_notice_source"]) == (None, None)


async def test_the_consent_route_stores_both_columns_and_the_export_holds_them(server: InProcessServer) -> None:
    iv = await schedule(server.base, mode="video")
    consent_url = f"/v1/interviews/{iv['id']}/consent"
    async with httpx.AsyncClient(base_url=server.base) as c:
        r = await c.post(
            consent_url,
            params={"token": iv["candidate_token"]},
            json={"consent": True, "video": True, "ai_notice": True},
        )
        assert r.status_code == 200 and r.json()["video_consent"] is True, r.text
        interview, recording, notices = await stored(server, iv["id"])
        assert (recording.consent, recording.video_consent, recording.consent_source) == (True, True, "rest")
        assert interview.ai_notice_source == "rest"
        assert [n.created_at for n in notices] == [interview.ai_notice_accepted_at]
        first_accepted = interview.ai_notice_accepted_at
        assert first_accepted is not None

        # Accepted again in the hello: another audit entry, the interview keeps the first acceptance.
        await join(server, iv, {"ai_notice": True})
        interview, recording, notices = await stored(server, iv["id"])
        assert (interview.ai_notice_accepted_at, interview.ai_notice_source) == (first_accepted, "rest")
        assert [n.detail for n in notices] == [{"via": "rest"}, {"via": "hello"}]
        assert recording.video_consent is True, "a hello that does not mention video keeps what was said"

        exported = await c.get(f"/v1/candidates/{iv['candidate_id']}/export", headers=hr())
        assert exported.status_code == 200, exported.text
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        (data,) = json.loads(archive.read("data.json"))["interviews"]
    assert datetime.fromisoformat(data["ai_notice_accepted_at"]) == first_accepted
    assert data["ai_notice_source"] == "rest"
    assert (data["recording"]["consent"], data["recording"]["video_consent"]) == (True, True)
    assert data["recording"]["consent_source"] == "rest"


async def test_a_withdrawal_takes_the_video_consent_back(server: InProcessServer) -> None:
    iv = await schedule(server.base, mode="video")
    consent_url = f"/v1/interviews/{iv['id']}/consent"
    async with httpx.AsyncClient(base_url=server.base) as c:
        given = await c.post(
            consent_url, params={"token": iv["candidate_token"]}, json={"consent": True, "video": True}
        )
        assert given.json()["video_consent"] is True, given.text
        withdrawn = await c.post(consent_url, params={"token": iv["candidate_token"]}, json={"consent": False})
        assert (withdrawn.json()["consent"], withdrawn.json()["video_consent"]) == (False, False), withdrawn.text
    _, recording, _ = await stored(server, iv["id"])
    assert (recording.consent, recording.video_consent, recording.consent_source) == (False, False, "rest")
