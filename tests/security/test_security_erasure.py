"""Issue 14, High 5: erasing a candidate leaves nothing of them, and an export beforehand holds all of it.

A real `shanmian serve` process on SQLite with the in-memory bus, and on a real PostgreSQL with the Redis bus. The
candidate is created with a résumé, takes a text interview through the WebSocket (typing an answer with a phrase
found nowhere else), gets a reviewer's comment, a recording (its row and file), résumé probes and webhook
deliveries. The export holds each distinctive string and the recording's bytes; after the erase a scan of every
table of the database, every file under the data dir (names and bytes, the SQLite file too) and every Redis key and
stream entry of the deployment finds none of them, nor the candidate's or the interview's id. What is left is one
`erasures` row that names no one; a second erase is a 404, a live interview is refused with a 409, and a
connection let in before the erase cannot start the erased interview afterwards.
"""

from __future__ import annotations

import asyncio
import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import websockets
from security_testkit import ANSWER, JOB, ServerProcess, database_text, free_port, hr, start_process

from dialogue.resume_probes import ResumeProbe, probes_to_json
from server.db.store import Store
from server.settings import Settings

NAME = "Zebulon Quixote-Marchetti"
EMAIL = "zq.marchetti.7731@example.net"
RESUME_PHRASE = "orchestrated the Kestrel-Lumen telemetry overhaul"
RESUME = f"Experience\n2019-2024 Staff engineer: {RESUME_PHRASE} across 40 services, in Python and PostgreSQL."
ANSWER_PHRASE = "the Pelican-Nimbus cache stampede"
TYPED = f"{ANSWER} The hardest bug was {ANSWER_PHRASE}, which I fixed with request coalescing."
COMMENT = "Reviewer: Zebulon explained trade-offs crisply"
RECORDING = b"OggS\x00fake-opus-bytes " + NAME.encode() + b" " + bytes(range(256)) * 64

BACKENDS = ["sqlite-memory", pytest.param("postgres-redis", marks=[pytest.mark.postgres, pytest.mark.redis])]


@dataclass
class Deployment:
    server: ServerProcess
    data_dir: Path
    database_url: str  # SQLAlchemy async URL
    redis_url: str | None
    redis_prefix: str | None


@dataclass
class Backend:
    database_url: str | None  # None: SQLite in the data dir
    redis_url: str | None
    redis_prefix: str | None


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "postgres-redis":
        return Backend(
            str(request.getfixturevalue("postgres_database")),
            str(request.getfixturevalue("redis_url")),
            str(request.getfixturevalue("redis_prefix")),
        )
    return Backend(None, None, None)


@pytest.fixture
async def deployment(backend: Backend, tmp_path: Path) -> AsyncIterator[Deployment]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    scratch = tmp_path / "tmp"  # the server's temporary files: an export's zip must not outlive its answer
    scratch.mkdir()
    extra = {"SHANMIAN_WEBHOOK_ALLOWED_TARGETS": "loopback", "TMPDIR": str(scratch)}
    database = backend.database_url or f"sqlite:///{data_dir / 'shanmian.db'}"
    if backend.database_url and backend.redis_url and backend.redis_prefix:
        extra |= {
            "DATABASE_URL": database,
            "REDIS_URL": backend.redis_url,
            "SHANMIAN_REDIS_PREFIX": backend.redis_prefix,
        }
    server = await start_process(data_dir, **extra)
    try:
        url = Settings.from_env({}, api_key="k", database_url=database).sqlalchemy_url
        yield Deployment(server, data_dir, url, backend.redis_url, backend.redis_prefix)
    finally:
        await server.stop()


async def _next(ws: Any, seconds: float = 30) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), seconds))
    return message


async def _candidate_with_a_finished_interview(d: Deployment) -> tuple[str, str]:
    """The candidate's id and their interview's, taken to the end over the WebSocket, with everything around it."""
    base, ws_base = d.server.base, d.server.ws
    async with httpx.AsyncClient(base_url=base, headers=hr(), timeout=60) as api:
        hook = await api.post(
            "/v1/webhooks/endpoints",
            json={"url": f"http://127.0.0.1:{free_port()}/hook", "event_types": ["interview.started", "report.ready"]},
        )
        assert hook.status_code == 201, hook.text
        job = (await api.post("/v1/jobs", json=JOB)).json()
        cand = await api.post("/v1/candidates", json={"name": NAME, "email": EMAIL, "resume_text": RESUME})
        assert cand.status_code == 201, cand.text
        cid = cand.json()["id"]
        iv = (await api.post("/v1/interviews", json={"job_id": job["id"], "candidate_id": cid, "mode": "text"})).json()
    iid = iv["id"]
    observer = await websockets.connect(f"{ws_base}/v1/interviews/{iid}/observe?token={iv['observer_token']}")
    async with websockets.connect(f"{ws_base}/v1/interviews/{iid}/stream?token={iv['candidate_token']}") as ws:
        await ws.send(json.dumps({"type": "hello", "mode": "text"}))
        while (message := await _next(ws))["type"] != "closed":
            if message["type"] == "question":
                await ws.send(json.dumps({"type": "answer", "text": TYPED}))
    await observer.send(json.dumps({"type": "comment", "text": COMMENT}))
    while (await _next(observer))["type"] != "comment":
        pass
    await observer.close()

    # What no text interview produces on a model-free server, written as the server would: a recording and probes.
    store = await Store.open(d.database_url)
    try:
        recordings = d.data_dir / "recordings"
        recordings.mkdir(exist_ok=True)
        (recordings / f"{iid}.ogg").write_bytes(RECORDING)
        await store.update_recording(
            iid, consent=True, consent_source="hello", status="complete", path=str(recordings / f"{iid}.ogg"),
            media_type="audio/ogg", duration_s=12.5,
        )  # fmt: skip
        probe = ResumeProbe("Python", f"You {RESUME_PHRASE}: how did you roll it out?", RESUME_PHRASE)
        await store.set_probes(iid, probes_to_json([probe]))
    finally:
        await store.close()
    return cid, iid


# --- the scans ---------------------------------------------------------------------------------------------------


async def _no_export_left(folder: Path) -> bool:
    """Whether no export zip is left in the folder, within a few seconds (a task deletes it after the answer)."""
    for _ in range(50):
        if not _exports_in(folder):
            return True
        await asyncio.sleep(0.1)
    return False


def _exports_in(folder: Path) -> list[Path]:
    return list(folder.glob("shanmian-export-*"))


def _files_text(data_dir: Path) -> str:
    """Every file under the data dir, its path and its bytes (the SQLite file's free pages included). The server's
    own output, which the test harness writes there, is the operator's log stream, not data the server keeps."""
    parts = []
    for path in sorted(data_dir.rglob("*")):
        if path.is_file() and path.name != "server-output.log":
            parts.append(str(path.relative_to(data_dir)))
            parts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(parts)


async def _redis_text(url: str, prefix: str) -> str:
    """Every key of this deployment (its prefix) and everything in it, whatever its type."""
    client = aioredis.Redis.from_url(url)
    parts: list[str] = []
    try:
        async for key in client.scan_iter(match=f"{prefix}*", count=1000):
            kind = (await client.type(key)).decode()
            content: Any = None
            if kind == "stream":
                content = await client.xrange(key)
            elif kind == "string":
                content = await client.get(key)
            elif kind == "hash":
                content = await client.hgetall(key)
            elif kind == "list":
                content = await client.lrange(key, 0, -1)
            elif kind in ("set", "zset"):
                content = await (client.smembers(key) if kind == "set" else client.zrange(key, 0, -1))
            parts.append(f"{key!r} {kind} {content!r}")
    finally:
        await client.aclose()
    return "\n".join(parts)


async def _everything(d: Deployment) -> dict[str, str]:
    held = {"database": await database_text(d.database_url), "files": _files_text(d.data_dir)}
    if d.redis_url and d.redis_prefix:
        held["redis"] = await _redis_text(d.redis_url, d.redis_prefix)
    return {where: content.lower() for where, content in held.items()}


def _found(held: dict[str, str], needles: list[str]) -> dict[str, list[str]]:
    return {where: [n for n in needles if n.lower() in content] for where, content in held.items()}


# --- the tests ---------------------------------------------------------------------------------------------------


async def test_export_holds_everything_and_erase_leaves_nothing_of_the_candidate(deployment: Deployment) -> None:
    d = deployment
    cid, iid = await _candidate_with_a_finished_interview(d)
    personal = [NAME, EMAIL, RESUME_PHRASE, ANSWER_PHRASE, COMMENT]
    ids = [cid, iid]

    before = await _everything(d)
    assert all(before["database"].count(s.lower()) for s in personal), "the scan sees the data while it is held"
    assert NAME.lower() in before["files"] and iid in before["files"], "the recording file, by name and bytes"
    if "redis" in before:
        assert ANSWER_PHRASE.lower() in before["redis"] and iid.lower() in before["redis"], "the bus history"

    async with httpx.AsyncClient(base_url=d.server.base, headers=hr(), timeout=60) as api:
        form = {"sex": "Female", "race_ethnicity": "Hispanic or Latino"}
        assert (await api.post(f"/v1/candidates/{cid}/demographics", json=form)).status_code in (200, 201)
        rating = {"interview_id": iid, "score": 4.5, "rated_at": "2026-11-30", "rater_saw_interview_scores": False}
        assert (await api.post("/v1/outcomes", json=rating)).status_code in (200, 201)
        exported = await api.get(f"/v1/candidates/{cid}/export")
        assert exported.status_code == 200, exported.text
        assert exported.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
            data = json.loads(archive.read("data.json"))
            assert archive.read(f"recordings/{iid}.ogg") == RECORDING, "the recording, byte for byte"
        assert data["format"] == "shanmian-candidate-export/1"
        assert (data["candidate"]["name"], data["candidate"]["email"]) == (NAME, EMAIL)
        assert RESUME_PHRASE in data["candidate"]["resume_text"]
        [interview] = data["interviews"]
        assert interview["id"] == iid and interview["status"] == "completed"
        assert any(ANSWER_PHRASE in t["answer"] for t in interview["turns"]), "the typed answer"
        assert [c["text"] for c in interview["comments"]] == [COMMENT]
        assert [r["version"] for r in interview["reports"]] == [1]
        assert interview["recording"]["file"] == f"recordings/{iid}.ogg"
        assert RESUME_PHRASE in json.dumps(interview["resume_probes"])
        assert "candidate_token" not in json.dumps(data), "credentials are not data about the person"
        identified = data["candidate"]["self_identification"]
        assert (identified["sex"], identified["race_ethnicity"]) == ("Female", "Hispanic or Latino")
        assert [(o["score"], o["rated_at"]) for o in interview["performance"]] == [(4.5, "2026-11-30")]
        assert await _no_export_left(d.data_dir.parent / "tmp"), "the zip is deleted once sent"

        erased = await api.post(f"/v1/candidates/{cid}/erase")
        assert erased.status_code == 200, erased.text + d.server.text()[-4000:]
        audit = erased.json()
        assert audit["who"] == "bootstrap-admin" and audit["id"].startswith("er_")
        counts = audit["counts"]
        assert counts["candidates"] == 1 and counts["interviews"] == 1 and counts["resumes"] == 1
        assert counts["turns"] >= 2 and counts["report_versions"] == 1 and counts["comments"] == 1
        assert counts["interview_recordings"] == 1 and counts["recording_files"] == 1
        assert counts["resume_probes"] == 1 and counts["webhook_events"] >= 2 and counts["webhook_deliveries"] >= 2

        again = await api.post(f"/v1/candidates/{cid}/erase")
        assert again.status_code == 404 and again.json()["error"]["code"] == "not_found", again.text
        assert (await api.get(f"/v1/candidates/{cid}/export")).status_code == 404
        assert (await api.get(f"/v1/candidates/{cid}")).status_code == 404
        assert (await api.get(f"/v1/interviews/{iid}")).status_code == 404
        unknown = await api.post(f"/v1/candidates/{uuid.uuid4().hex}/erase")
        assert unknown.status_code == 404, unknown.text
        assert (await api.post(f"/v1/candidates/{cid}/erase", headers={"Authorization": ""})).status_code == 401

    after = await _everything(d)
    assert _found(after, personal + ids) == {where: [] for where in after}
    assert "erasures" in after["database"] and audit["id"] in after["database"], "the audit entry stays"


async def test_a_live_interview_is_not_erased_under_its_session(deployment: Deployment) -> None:
    d = deployment
    async with httpx.AsyncClient(base_url=d.server.base, headers=hr(), timeout=60) as api:
        job = (await api.post("/v1/jobs", json=JOB)).json()
        cid = (await api.post("/v1/candidates", json={"name": "Live Candidate"})).json()["id"]
        iv = (await api.post("/v1/interviews", json={"job_id": job["id"], "candidate_id": cid, "mode": "text"})).json()
        async with websockets.connect(
            f"{d.server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}"
        ) as ws:
            await ws.send(json.dumps({"type": "hello", "mode": "text"}))
            while (await _next(ws))["type"] != "question":
                pass
            refused = await api.post(f"/v1/candidates/{cid}/erase")
            assert refused.status_code == 409, refused.text
            error = refused.json()["error"]
            assert error["code"] == "conflict" and iv["id"] in error["message"] and "live" in error["message"]
            assert (await api.get(f"/v1/candidates/{cid}")).status_code == 200, "nothing was erased"
            await ws.send(json.dumps({"type": "end"}))
            while (await _next(ws))["type"] != "closed":
                pass
        assert (await api.get(f"/v1/interviews/{iv['id']}")).json()["status"] == "completed"
        erased = await api.post(f"/v1/candidates/{cid}/erase")
        assert erased.status_code == 200, erased.text + d.server.text()[-4000:]


async def test_a_connection_let_in_before_the_erase_cannot_start_the_interview(deployment: Deployment) -> None:
    d = deployment
    async with httpx.AsyncClient(base_url=d.server.base, headers=hr(), timeout=60) as api:
        job = (await api.post("/v1/jobs", json=JOB)).json()
        cid = (await api.post("/v1/candidates", json={"name": "Early Candidate"})).json()["id"]
        iv = (await api.post("/v1/interviews", json={"job_id": job["id"], "candidate_id": cid, "mode": "text"})).json()
        url = f"{d.server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}"
        async with websockets.connect(url) as early:  # authorised while the interview is scheduled
            erased = await api.post(f"/v1/candidates/{cid}/erase")
            assert erased.status_code == 200, erased.text
            await early.send(json.dumps({"type": "hello", "mode": "text"}))
            answer = await _next(early)
            assert (answer["type"], answer["code"]) == ("error", "session_closed"), answer
        assert (await api.get(f"/v1/interviews/{iv['id']}")).status_code == 404, "nothing was brought back"
