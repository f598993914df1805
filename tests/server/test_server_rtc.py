"""WebRTC against a real server: an aiortc peer as the candidate, its microphone playing fixture answers in real
time, and every bad offer (malformed, no audio, a second peer, a peer that vanishes) answered as it should be.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path
from typing import Any

import av
import pytest
from rtc_testkit import RtcCandidate
from server_testkit import Api, read_wav


def one_question_job(fixtures_dir: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The backend scenario cut to its first question: real time is the cost of RTC, so keep it short."""
    folder = fixtures_dir / "backend_en"
    manifest = json.loads((folder / "manifest.json").read_text())
    job = dict(manifest["scenario"]["job"], questions=[{"text": manifest["scenario"]["questions"][0]}])
    clips = {
        c["id"]: read_wav(folder / c["file"])
        for c in manifest["clips"]
        if c["id"] in ("q1_strong", "followup_1", "closing_1")
    }
    return job, clips


def offer_url(live_server: Any, iv: dict[str, Any], token: str | None = None) -> str:
    return f"{live_server.base}/v1/interviews/{iv['id']}/rtc/offer?token={token or iv['candidate_token']}"


async def answer_all(peer: RtcCandidate, clips: dict[str, bytes]) -> dict[str, Any]:
    """Speak the answer each question calls for until the report; returns the report message."""
    while True:
        message = await peer.until("question", "report", seconds=90)
        if message["type"] == "report":
            return message
        kind = message["kind"]
        peer.mic.play(clips["closing_1" if kind == "closing" else "followup_1" if kind == "follow_up" else "q1_strong"])


@pytest.mark.timeout(900)  # among the slowest real-model tests: see timeout in pyproject.toml
async def test_a_voice_interview_over_webrtc_is_recorded_with_consent_and_scored(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    job, clips = one_question_job(fixtures_dir)
    iv = await api.interview(job, mode="voice")
    peer = RtcCandidate(offer_url(live_server, iv))
    try:
        await peer.connect({"type": "hello", "mode": "voice", "consent": True})
        assert (await peer.until("ready"))["resumed"] is False
        report = await answer_all(peer, clips)
        closed = await peer.until("closed")
        assert closed["reason"] == "completed"
    finally:
        await peer.close()
    full = (await api.get(f"/v1/interviews/{iv['id']}/report")).json()
    assert full["overall"] > 0 and "overall" not in report["report"]
    assert not any("Not recorded" in n for n in full["notes"])
    finals = [m for m in peer.received if m["type"] == "transcript" and m["final"]]
    assert finals and "team" in " ".join(m["text"] for m in finals).lower()

    interview = (await api.get(f"/v1/interviews/{iv['id']}")).json()
    assert interview["status"] == "completed"
    first = interview["transcript"][0]
    assert first["start"] is not None and first["end"] > first["start"]

    await wait_for_recording(api, iv["id"])
    r = await api.get(f"/v1/interviews/{iv['id']}/recording")
    assert r.status_code == 200 and r.headers["content-type"].startswith("audio/ogg")
    with av.open(io.BytesIO(r.content)) as c:
        assert [s.type for s in c.streams] == ["audio"]
        duration = float(c.duration or 0) / 1e6
    last = interview["transcript"][-1]
    # The recording's timeline is the session's: every turn lies inside it, and it ends about when the session did.
    assert last["end"] <= duration + 0.1
    assert abs(duration - closed["t"]) < 2.0, (duration, closed["t"])

    h = (await api.get(f"/v1/interviews/{iv['id']}/highlights")).json()
    kinds = {x["kind"] for x in h["highlights"]}
    assert "technology" in kinds, h
    assert all(x["start"] is None or 0 <= x["start"] <= duration for x in h["highlights"])
    assert h["recording"]["status"] == "complete"
    assert (await api.get(f"/v1/interviews/{iv['id']}/recording", auth=False)).status_code == 401


async def wait_for_recording(api: Api, interview_id: str) -> None:
    """The file is finished off the event loop after the interview ends; with video that means encoding the frames
    still queued, which on a busy 2-core box took longer than the 5 s this once allowed (the flaky failure)."""
    h = await api.poll(f"/v1/interviews/{interview_id}/highlights", lambda h: h["recording"]["status"] != "recording")
    assert h["recording"]["status"] != "recording", "the recording was not finished after the interview ended"


@pytest.mark.timeout(900)  # among the slowest real-model tests: see timeout in pyproject.toml
async def test_video_mode_over_webrtc_records_a_playable_webm_as_long_as_the_session(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    job, clips = one_question_job(fixtures_dir)
    iv = await api.interview(job, mode="video")
    peer = RtcCandidate(offer_url(live_server, iv), video=True)
    try:
        await peer.connect({"type": "hello", "mode": "video", "consent": True, "video_consent": True})
        await peer.until("question")
        peer.mic.play(clips["closing_1"])
        await peer.until("turn_end", seconds=30)
        peer.send({"type": "end"})
        report = await peer.until("report")
        closed = await peer.until("closed")
    finally:
        await peer.close()
    full = (await api.get(f"/v1/interviews/{iv['id']}/report")).json()
    assert closed["reason"] == "candidate_ended" and not any("record" in n.lower() for n in full["notes"])
    assert "notes" not in report["report"]
    await wait_for_recording(api, iv["id"])
    r = await api.get(f"/v1/interviews/{iv['id']}/recording")
    assert r.status_code == 200 and r.headers["content-type"].startswith("video/webm")
    with av.open(io.BytesIO(r.content)) as c:
        assert sorted(s.type for s in c.streams) == ["audio", "video"]
        duration = float(c.duration or 0) / 1e6
        frames = sum(1 for _ in c.decode(video=0))
    assert abs(duration - closed["t"]) < 2.0, (duration, closed["t"])
    assert frames > 15 * (closed["t"] - 3)  # ~15 fps from the camera, less the seconds before the hello


async def test_video_mode_without_video_consent_records_the_audio_only(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    job, _ = one_question_job(fixtures_dir)
    iv = await api.interview(job, mode="video")
    peer = RtcCandidate(offer_url(live_server, iv), video=True)
    try:
        await peer.connect({"type": "hello", "mode": "video", "consent": True})
        await peer.until("question")
        await asyncio.sleep(1.0)
        peer.send({"type": "end"})
        await peer.until("closed")
    finally:
        await peer.close()
    await wait_for_recording(api, iv["id"])
    r = await api.get(f"/v1/interviews/{iv['id']}/recording")
    assert r.status_code == 200 and r.headers["content-type"].startswith("audio/ogg")
    with av.open(io.BytesIO(r.content)) as c:
        assert [s.type for s in c.streams] == ["audio"]
    full = (await api.get(f"/v1/interviews/{iv['id']}/report")).json()
    assert any("Video not recorded" in n for n in full["notes"]), full["notes"]


async def test_a_video_track_in_voice_mode_is_not_received(live_server: Any, api: Api, fixtures_dir: Path) -> None:
    job, _ = one_question_job(fixtures_dir)
    iv = await api.interview(job, mode="voice")
    peer = RtcCandidate(offer_url(live_server, iv), video=True)
    try:
        await peer.connect({"type": "hello", "mode": "voice", "consent": True, "video_consent": True})
        # Answered inactive: the camera sends nothing, so nothing is decoded on the server.
        video_section = peer.answer_sdp.split("m=video", 1)[1]
        assert "a=inactive" in video_section.split("m=", 1)[0]
        await peer.until("question")
        await asyncio.sleep(1.0)
        peer.send({"type": "end"})
        await peer.until("closed")
    finally:
        await peer.close()
    await wait_for_recording(api, iv["id"])
    r = await api.get(f"/v1/interviews/{iv['id']}/recording")
    assert r.status_code == 200 and r.headers["content-type"].startswith("audio/ogg")
    with av.open(io.BytesIO(r.content)) as c:
        assert [s.type for s in c.streams] == ["audio"]


async def test_bad_offers_are_refused_with_a_clear_message(live_server: Any, api: Api, fixtures_dir: Path) -> None:
    job, _ = one_question_job(fixtures_dir)
    iv = await api.interview(job, mode="voice")
    url = offer_url(live_server, iv)
    import httpx

    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.post(url, json={"sdp": "v=0\r\nthis is not sdp\r\n", "type": "offer"})
        assert r.status_code == 400 and "SDP offer could not be read" in r.json()["error"]["message"]
        r = await c.post(url, json={"sdp": "v=0\r\nm=audio notaport RTP/AVP 0\r\n", "type": "offer"})
        assert r.status_code == 400 and "SDP offer could not be read" in r.json()["error"]["message"]
        r = await c.post(url, json={"sdp": "v=0", "type": "answer"})
        assert r.status_code == 400
        r = await c.post(url, content=b"{not json")
        assert r.status_code == 400
        r = await c.post(offer_url(live_server, iv, token="wrong"), json={"sdp": "v=0", "type": "offer"})
        assert r.status_code == 401
        unknown = await c.post(
            f"{live_server.base}/v1/interviews/nope/rtc/offer?token=x", json={"sdp": "v=0", "type": "offer"}
        )
        assert (unknown.status_code, unknown.json()) == (401, r.json()), "an unknown id answers like a wrong token"

    no_audio = RtcCandidate(url, audio=False)
    try:
        r = await no_audio.offer()
        assert r.status_code == 400 and "no audio track" in r.json()["error"]["message"]
    finally:
        await no_audio.close()

    first, second = RtcCandidate(url), RtcCandidate(url)
    try:
        await first.connect({"type": "hello", "mode": "voice"})
        await first.until("question")
        r = await second.offer()
        assert r.status_code == 409 and "already connected" in r.json()["error"]["message"]
        # Messages on the data channel get the WebSocket's errors: one implementation of the protocol.
        first.send({"type": "dance"})
        assert (await first.until("error"))["code"] == "bad_message"
        first.channel.send(b"\x00\x01")  # type: ignore[union-attr]
        assert "audio track" in (await first.until("error"))["message"]
    finally:
        await first.close()
        await second.close()


async def test_a_peer_that_vanishes_is_dropped_within_seconds_and_then_abandoned(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    job, _ = one_question_job(fixtures_dir)
    iv = await api.interview(job, mode="voice")
    peer = RtcCandidate(offer_url(live_server, iv))
    try:
        await peer.connect({"type": "hello", "mode": "voice"})
        await peer.until("question")
        peer.mic.unmuted.clear()  # the phone went into a tunnel: no media, no goodbye
        started = time.monotonic()
        status = ""
        while time.monotonic() - started < 20:
            status = (await api.get(f"/v1/interviews/{iv['id']}")).json()["status"]
            if status == "abandoned":
                break
            await asyncio.sleep(0.25)
        # Dropped after rtc_drop_timeout_s (5 s) without media, abandoned after the test server's 2 s grace.
        assert status == "abandoned"
        assert time.monotonic() - started < 10
    finally:
        peer.mic.unmuted.set()
        await peer.close()
