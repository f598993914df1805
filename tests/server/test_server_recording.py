"""Recording over the WebSocket: nothing without consent (and the report says so), consent over REST before
joining, and a disk that fills up mid-interview (the interview goes on, HR is told)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from server_testkit import Api, Stream, play, read_wav

HELLO = {"type": "hello", "mode": "voice", "audio": {"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1}}
JOB = {"title": "Backend Engineer", "requirements": ["Python"], "questions": [{"text": "Tell me about Python."}]}


async def speak_then_end(live_server: Any, iv: dict[str, Any], hello: dict[str, Any], pcm: bytes) -> dict[str, Any]:
    stream = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    try:
        await stream.send(hello)
        await stream.until("question")
        await play(stream.ws, pcm)
        await stream.send({"type": "end"})
        await stream.until("report")
        await stream.until("closed")
    finally:
        await stream.close()
    # Notes about the recording are for HR: they are in the full report, not the candidate's view.
    full = await Api(live_server.base, live_server.api_key).get(f"/v1/interviews/{iv['id']}/report")
    return full.json()  # type: ignore[no-any-return]


async def test_without_consent_nothing_is_recorded_and_the_report_says_so(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    iv = await api.interview(JOB, mode="voice")
    pcm = read_wav(fixtures_dir / "backend_en" / "closing_1.wav")
    report = await speak_then_end(live_server, iv, HELLO, pcm)
    assert any("did not consent" in n for n in report["notes"])
    assert "did not consent" in (await api.get(f"/v1/interviews/{iv['id']}/recording")).json()["error"]["message"]
    assert not list(live_server.settings.recordings_path.glob(f"{iv['id']}*"))


async def test_consent_over_rest_before_joining(live_server: Any, api: Api) -> None:
    iv = await api.interview(JOB, mode="voice")
    url = f"/v1/interviews/{iv['id']}/consent"
    assert (await api.post(url, {"consent": True}, auth=False)).status_code == 401
    assert (await api.post(f"{url}?token={iv['candidate_token']}", {"consent": "yes"}, auth=False)).status_code == 400
    r = await api.post(f"{url}?token={iv['candidate_token']}", {"consent": True}, auth=False)
    assert r.status_code == 200 and r.json()["consent"] is True


async def test_a_full_disk_stops_the_recording_but_not_the_interview(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    iv = await api.interview(JOB, mode="voice")
    r = await api.post(
        f"/v1/interviews/{iv['id']}/consent?token={iv['candidate_token']}", {"consent": True}, auth=False
    )
    assert r.status_code == 200
    folder = live_server.settings.recordings_path
    folder.mkdir(parents=True, exist_ok=True)
    # /dev/full answers every write with ENOSPC: a real full disk, as the kernel reports it.
    os.symlink("/dev/full", folder / f"{iv['id']}.ogg")
    pcm = read_wav(fixtures_dir / "backend_en" / "q1_strong.wav")
    report = await speak_then_end(live_server, iv, HELLO, pcm)
    assert any("disk is full" in n for n in report["notes"]), report["notes"]
    interview = (await api.get(f"/v1/interviews/{iv['id']}")).json()
    assert interview["status"] == "completed" and interview["transcript"][0]["answer"]
    h = (await api.get(f"/v1/interviews/{iv['id']}/highlights")).json()
    assert h["recording"]["status"] == "failed" and "disk is full" in h["recording"]["note"]
    # Highlights come from the transcript, so a failed recording leaves them whole: the answer's measured result.
    assert [x["kind"] for x in h["highlights"]] == ["result"], h["highlights"]
    assert "deployment time" in h["highlights"][0]["quote"], h["highlights"]
