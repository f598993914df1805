"""Issue 14, Medium 8: an interview's tokens stop working when they no longer serve a purpose, against a real server
on SQLite and PostgreSQL. The observer token opens a scheduled or live interview only; the candidate token keeps
opening the candidate's own routes after the interview ended, for SHANMIAN_CANDIDATE_TOKEN_DAYS, then each of them
answers exactly as it answers a wrong token. A scheduled interview's candidate token does not lapse.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets
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
from server_testkit import Stream

DAYS = 2  # SHANMIAN_CANDIDATE_TOKEN_DAYS of the server below: not the default, so the setting is what counts
WRONG = "not-the-token-0123456789abcdef01"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> dict[str, str]:
    """The server's database setting: its own SQLite file (left out), or the session's PostgreSQL database."""
    return {"database_url": str(request.getfixturevalue("postgres_database"))} if request.param == "postgres" else {}


@pytest.fixture(scope="module")
async def server(database: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessServer]:
    running = await start_in_process(tmp_path_factory.mktemp("tokens"), candidate_token_days=DAYS, **database)
    yield running
    await running.stop()


async def _candidate_answers(server: InProcessServer, interview_id: str, token: str) -> dict[str, Any]:
    """What every route a candidate token opens answers to `token`: status and body, or the stream's messages."""
    routes: list[tuple[str, str, Any]] = [
        ("GET", f"/join/{interview_id}/info", None),
        ("GET", f"/v1/interviews/{interview_id}/report", None),
        ("GET", f"/v1/interviews/{interview_id}/recourse", None),
        ("POST", f"/v1/interviews/{interview_id}/recourse", {"message": "Please have a person look at it."}),
        ("POST", f"/v1/interviews/{interview_id}/consent", {"consent": False}),
        ("GET", f"/v1/interviews/{interview_id}/booking", None),
        ("GET", f"/v1/interviews/{interview_id}/booking/slots", None),
        ("POST", f"/v1/interviews/{interview_id}/rtc/offer", {"sdp": "v=0\r\n", "type": "offer"}),
    ]
    answers: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=server.base, timeout=60) as c:
        for method, path, body in routes:
            r = await c.request(method, path, params={"token": token}, json=body)
            answers[f"{method} {path}"] = (r.status_code, r.text)
    answers["stream"] = await stream_refusal(f"{server.ws}/v1/interviews/{interview_id}/stream?token={token}")
    return answers


async def _observer_answers(server: InProcessServer, interview_id: str, token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base) as c:
        ticket = await c.post(f"/v1/interviews/{interview_id}/observer-ticket", headers=hr(token))
    return {
        "ticket": (ticket.status_code, ticket.text),
        "stream": await stream_refusal(f"{server.ws}/v1/interviews/{interview_id}/observe?token={token}"),
    }


async def test_an_observer_token_stops_working_once_the_interview_completes(server: InProcessServer) -> None:
    iv = await schedule(server.base)
    watching = Stream(
        await websockets.connect(f"{server.ws}/v1/interviews/{iv['id']}/observe?token={iv['observer_token']}")
    )
    await watching.replay()  # let in while scheduled: the history (none yet), then the pong
    async with httpx.AsyncClient(base_url=server.base) as c:
        ticket = await c.post(f"/v1/interviews/{iv['id']}/observer-ticket", headers=hr(iv["observer_token"]))
        assert ticket.status_code == 201, ticket.text

        await complete(server.ws, iv)
        await watching.until("closed")  # the connection let in before the end follows it to the end
        await watching.close()

        ended = await _observer_answers(server, iv["id"], iv["observer_token"])
        assert ended == await _observer_answers(server, iv["id"], WRONG), "refused exactly as a wrong token"
        assert ended["ticket"][0] == 401 and json.loads(ended["stream"][0][0])["code"] == "unauthorized"
        # HR's own credentials keep working on the ended interview: the key replays it, and gets a ticket.
        assert (await c.post(f"/v1/interviews/{iv['id']}/observer-ticket", headers=hr())).status_code == 201
    replayed = Stream(await websockets.connect(f"{server.ws}/v1/interviews/{iv['id']}/observe?token={API_KEY}"))
    assert any(m["type"] == "report" and "recommendation" in m["report"] for m in await replayed.replay())
    await replayed.close()


async def test_a_candidate_token_reads_its_report_until_the_configured_days_after_the_end_then_is_a_wrong_token(
    server: InProcessServer,
) -> None:
    iv = await schedule(server.base)
    await complete(server.ws, iv)
    token = iv["candidate_token"]
    async with httpx.AsyncClient(base_url=server.base, timeout=60) as c:
        own = await c.get(f"/v1/interviews/{iv['id']}/report", params={"token": token})
        assert own.status_code == 200 and "recommendation" not in own.json(), own.text
        info = await c.get(f"/join/{iv['id']}/info", params={"token": token})
        assert info.status_code == 200 and info.json()["status"] == "completed", info.text

        await backdate(
            server.settings, iv["id"], ended_at=datetime.now(UTC) - timedelta(days=DAYS) + timedelta(hours=1)
        )
        assert (await c.get(f"/v1/interviews/{iv['id']}/report", params={"token": token})).json() == own.json()
        assert (await c.get(f"/v1/interviews/{iv['id']}/recourse", params={"token": token})).status_code == 200

        await backdate(server.settings, iv["id"], ended_at=datetime.now(UTC) - timedelta(days=DAYS, hours=1))
        lapsed = await _candidate_answers(server, iv["id"], token)
        assert lapsed == await _candidate_answers(server, iv["id"], WRONG), "every route: as for a wrong token"
        assert all(status == 401 for key, (status, _) in lapsed.items() if key != "stream"), lapsed
        assert json.loads(lapsed["stream"][0][0])["code"] == "unauthorized"
        # HR still reads the report, and nothing the refused calls asked for was done.
        assert (await c.get(f"/v1/interviews/{iv['id']}/report", headers=hr())).status_code == 200
        requests = (await c.get("/v1/recourse", headers=hr())).json()
        assert all(r["interview_id"] != iv["id"] for r in requests), requests


async def test_a_scheduled_interviews_candidate_token_does_not_lapse(server: InProcessServer) -> None:
    iv = await schedule(server.base)
    long_ago = datetime.now(UTC) - timedelta(days=400)  # past the longest SHANMIAN_CANDIDATE_TOKEN_DAYS allowed
    await backdate(server.settings, iv["id"], created_at=long_ago, scheduled_at=long_ago)
    token = iv["candidate_token"]
    async with httpx.AsyncClient(base_url=server.base, timeout=60) as c:
        info = await c.get(f"/join/{iv['id']}/info", params={"token": token})
        assert info.status_code == 200 and info.json()["status"] == "scheduled", info.text
        consent = await c.post(f"/v1/interviews/{iv['id']}/consent", params={"token": token}, json={"consent": True})
        assert consent.status_code == 200, consent.text
    async with websockets.connect(f"{server.ws}/v1/interviews/{iv['id']}/stream?token={token}") as ws:
        await ws.send(json.dumps({"type": "hello", "mode": "text"}))
        assert json.loads(await ws.recv())["type"] == "ready"


async def test_an_invitation_link_is_refused_once_its_interviews_candidate_token_lapsed(
    server: InProcessServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.base, headers=hr(), timeout=60) as api:
        job = (await api.post("/v1/jobs", json={"title": "Invited", "questions": [{"text": "Say hello."}]})).json()
        cand = (await api.post("/v1/candidates", json={"name": "Ada Lovelace", "email": "ada@example.org"})).json()
        made = await api.post("/v1/invitations", json={"job_id": job["id"], "candidate_id": cand["id"]})
        assert made.status_code == 201, made.text
    (invitation,) = made.json()["invitations"]
    link_token = invitation["link"].partition("token=")[2]
    async with httpx.AsyncClient(base_url=server.base, follow_redirects=False) as c:
        opened = await c.get(f"/invite/{invitation['id']}", params={"token": link_token})
        assert opened.status_code == 303, opened.text
        candidate_token = opened.headers["location"].partition("token=")[2]
        await complete(server.ws, {"id": invitation["interview_id"], "candidate_token": candidate_token})
        assert (await c.get(f"/invite/{invitation['id']}", params={"token": link_token})).status_code == 303

        ended_at = datetime.now(UTC) - timedelta(days=DAYS, hours=1)
        await backdate(server.settings, invitation["interview_id"], ended_at=ended_at)
        lapsed = await c.get(f"/invite/{invitation['id']}", params={"token": link_token})
        wrong = await c.get(f"/invite/{invitation['id']}", params={"token": WRONG})
    assert (lapsed.status_code, lapsed.text) == (wrong.status_code, wrong.text)
    assert lapsed.status_code == 401 and "location" not in lapsed.headers
