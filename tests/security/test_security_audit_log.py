"""The audit log against a real `shanmian serve` process (model-free), on SQLite and on a fresh PostgreSQL database:
a text interview's report (the AI output) and every HR access to it are entries; `GET /v1/audit?format=jsonl`
streams them with hashes anyone can recompute; after the candidate is erased the chain still verifies (REST and the
CLI, against the head the server anchored as it stopped), and no entry holds the candidate's name, e-mail, answer,
comment or ids. A candidate's entries before any interview are linked to them until their erasure, and cannot be tied
to them after it."""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import json
import os
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from security_testkit import ANSWER, API_KEY, JOB, ROOT, hr, start_process

from server.db.audit_chain import ChainLink, link_hash

NAME, EMAIL = "Ottoline Vasquez-Brandt", "ottoline.vb@example.org"
COMMENT = "Ottoline explained the caching layer clearly"
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("fresh_postgres"))
    return f"sqlite:///{tmp_path / 'shanmian.db'}"


async def _interview(base: str) -> tuple[str, str]:
    """A candidate and their text interview, taken to the end over the WebSocket with a typed answer and an
    observer's comment; their ids."""
    async with httpx.AsyncClient(base_url=base, headers=hr(), timeout=60) as api:
        job = (await api.post("/v1/jobs", json=JOB)).json()
        cid = (await api.post("/v1/candidates", json={"name": NAME, "email": EMAIL})).json()["id"]
        iv = (await api.post("/v1/interviews", json={"job_id": job["id"], "candidate_id": cid, "mode": "text"})).json()
    ws_base = base.replace("http", "ws", 1)
    async with websockets.connect(f"{ws_base}/v1/interviews/{iv['id']}/observe?token={iv['observer_token']}") as obs:
        async with websockets.connect(f"{ws_base}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}") as ws:
            await ws.send(json.dumps({"type": "hello", "mode": "text"}))
            while (message := json.loads(await asyncio.wait_for(ws.recv(), 60)))["type"] != "closed":
                if message["type"] == "question":
                    await ws.send(json.dumps({"type": "answer", "text": ANSWER}))
        await obs.send(json.dumps({"type": "comment", "text": COMMENT}))
        while json.loads(await asyncio.wait_for(obs.recv(), 60))["type"] != "comment":
            pass
    return cid, iv["id"]


def _recomputed(line: dict[str, Any]) -> str:
    link = ChainLink(
        line["seq"], line["prev_hash"], datetime.fromisoformat(line["created_at"]), line["actor"], line["action"],
        line["interview_ref"], line["detail"], line["candidate_ref"],
    )  # fmt: skip
    return link_hash(link)


async def _export(api: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    answer = await api.get("/v1/audit", params={"format": "jsonl", **params})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/jsonl")
    return [json.loads(line) for line in answer.text.splitlines()]


async def _cli_verify(database_url: str, data_dir: Path) -> tuple[int, str]:
    """`shanmian audit verify` with the server's settings: its database and its anchor file."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "audit", "verify", cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "SHANMIAN_API_KEY": API_KEY, "SHANMIAN_DATA_DIR": str(data_dir)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode()


async def test_ai_output_and_hr_access_are_chained_exported_and_survive_erasure(
    database_url: str, tmp_path: Path
) -> None:
    server = await start_process(tmp_path, DATABASE_URL=database_url)
    try:
        cid, iid = await _interview(server.base)
        async with httpx.AsyncClient(base_url=server.base, headers=hr(), timeout=60) as api:
            for path in (f"/v1/interviews/{iid}/report", f"/v1/interviews/{iid}/reports", f"/v1/interviews/{iid}"):
                assert (await api.get(path)).status_code == 200, path
            assert (await api.get(f"/v1/candidates/{cid}/export")).status_code == 200

            lines = await _export(api, interview_id=iid)
            assert [x["action"] for x in lines] == [
                "interview_created", "observer_joined", "report_saved", "comment_added", "report_viewed",
                "report_versions_viewed", "interview_viewed", "candidate_exported", "audit_exported",
            ], lines  # fmt: skip
            saved = next(x for x in lines if x["action"] == "report_saved")
            report = (await api.get(f"/v1/interviews/{iid}/report")).json()
            assert saved["actor"] == "system" and saved["detail"] == {
                "report_version": 1, "source": "interview", "scored_by": report["scorer"]["scored_by"],
                "model_sha256": report["scorer"]["model_sha256"], "prompt_version": report["scorer"]["prompt_version"],
                "judge": report["scorer"]["judge"], "plan_version": report["plan_version"],
                "overall": report["overall"], "recommendation": report["recommendation"],
                "dimensions": {d["name"]: d["score"] for d in report["dimensions"]},
            }, saved  # fmt: skip
            for line in lines:
                assert _recomputed(line) == line["hash"], line
                assert line["interview_ref"] == hashlib.sha256(f"{line['interview_salt']}:{iid}".encode()).hexdigest()

            everything = await _export(api)
            assert [x["seq"] for x in everything] == list(range(1, len(everything) + 1))
            assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(everything))
            tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
            assert await _export(api, **{"from": tomorrow}) == []
            assert len(await _export(api, to=tomorrow)) == len(everything) + 2, "the two exports are entries too"
            bad = await api.get("/v1/audit", params={"from": "yesterday"})
            assert bad.status_code == 400 and "'yesterday' is not YYYY-MM-DD" in bad.text, bad.text
            naive = await api.get("/v1/audit", params={"to": "2026-12-01T10:00:00"})
            assert naive.status_code == 400 and "has no UTC offset" in naive.text, naive.text
            assert (await api.get("/v1/audit", params={"format": "csv"})).status_code == 400

            erased = await api.post(f"/v1/candidates/{cid}/erase")
            assert erased.status_code == 200, erased.text
            verified = (await api.get("/v1/audit/verify")).json()
            assert verified["ok"] is True and verified["problem"] is None, verified
            after = await _export(api)
            assert len(after) == verified["head_seq"] + 1 == verified["rows"] + 1, "and the export's own entry"
            erasure = next(x for x in after if x["action"] == "candidate_erased")
            unlinked = [
                x["seq"]
                for x in after
                if (x["interview_ref"] and x["interview_id"] is None)
                or (x["candidate_ref"] and x["candidate_id"] is None)
            ]
            assert erasure["action"] == "candidate_erased" and erasure["actor"] == "bootstrap-admin"
            assert erasure["detail"] == {"erasure_id": erased.json()["id"], "unlinked": unlinked}
            assert len(unlinked) == erased.json()["counts"]["audit_log"] >= 8
            assert await _export(api, interview_id=iid) == []
            text = json.dumps(after)
            for secret in (NAME, EMAIL, ANSWER, COMMENT, "caching layer", cid, iid):
                assert secret not in text, secret

            assert (await api.get("/v1/audit", headers={"Authorization": ""})).status_code == 401
            assert (await api.get("/v1/audit/verify", headers={"Authorization": "Bearer nope"})).status_code == 401
            head = (await api.get("/v1/audit/verify")).json()
        await server.stop()  # a clean shutdown anchors the head
        anchored = [json.loads(line) for line in (tmp_path / "audit-anchor.jsonl").read_text().splitlines()]
        assert anchored[-1]["seq"] == head["head_seq"] and anchored[-1]["hash"] == head["head_hash"], anchored
        code, out = await _cli_verify(database_url, tmp_path)
        assert code == 0 and out.startswith(f"OK: {verified['rows'] + 2} entries"), out
        assert f"; {len(anchored)} anchors checked; from {tmp_path / 'audit-anchor.jsonl'}" in out, out
    finally:
        await server.stop()


async def test_a_candidates_entries_before_any_interview_name_them_until_their_erasure(
    database_url: str, tmp_path: Path
) -> None:
    server = await start_process(tmp_path, DATABASE_URL=database_url)
    try:
        async with httpx.AsyncClient(base_url=server.base, headers=hr(), timeout=60) as api:
            cid = (await api.post("/v1/candidates", json={"name": NAME, "email": EMAIL})).json()["id"]
            identified = await api.post(
                f"/v1/candidates/{cid}/demographics", json={"sex": "Female", "race_ethnicity": "Asian"}
            )
            assert identified.status_code == 200, identified.text
            assert (await api.get(f"/v1/candidates/{cid}")).status_code == 200
            exported = await api.get(f"/v1/candidates/{cid}/export")
            assert exported.status_code == 200, exported.text
            data = json.loads(zipfile.ZipFile(io.BytesIO(exported.content)).read("data.json"))
            assert [a["action"] for a in data["candidate"]["audit"]] == [
                "candidate_created", "demographics_recorded", "candidate_viewed",
            ], "the export holds the entries about the candidate written before it"  # fmt: skip

            about = await _export(api, candidate_id=cid)
            assert [(x["action"], x["interview_id"], x["candidate_id"]) for x in about] == [
                ("candidate_created", None, cid), ("demographics_recorded", None, cid),
                ("candidate_viewed", None, cid), ("candidate_exported", None, cid), ("audit_exported", None, cid),
            ], "and the export's own entry"  # fmt: skip
            for line in about:
                assert line["candidate_ref"] == hashlib.sha256(f"{line['candidate_salt']}:{cid}".encode()).hexdigest()
                assert _recomputed(line) == line["hash"] and cid not in json.dumps(line["detail"]), line

            erased = await api.post(f"/v1/candidates/{cid}/erase")
            assert erased.status_code == 200, erased.text
            verified = (await api.get("/v1/audit/verify")).json()
            assert verified["ok"] is True, verified
            after = await _export(api)
            kept = [x for x in after if x["seq"] in {a["seq"] for a in about}]
            assert [(x["action"], x["hash"]) for x in kept] == [(a["action"], a["hash"]) for a in about], (
                "the entries stay in the chain as they were hashed"
            )
            assert all(x["candidate_id"] is None and x["candidate_salt"] is None and x["candidate_ref"] for x in kept)
            erasure = next(x for x in after if x["action"] == "candidate_erased")
            assert erasure["detail"]["unlinked"] == [a["seq"] for a in about]
            assert erased.json()["counts"]["audit_log"] == len(about)
            assert await _export(api, candidate_id=cid) == []
            text = json.dumps(after)
            for secret in (NAME, EMAIL, cid):
                assert secret not in text, secret
            salts = [x[k] for x in after for k in ("candidate_salt", "interview_salt") if x[k]]
            tied = {hashlib.sha256(f"{salt}:{cid}".encode()).hexdigest() for salt in salts}
            assert not tied & {x["candidate_ref"] for x in kept}, "no salt left ties an entry to the candidate's id"
        code, out = await _cli_verify(database_url, tmp_path)
        assert code == 0 and out.startswith("OK: "), out
    finally:
        await server.stop()
