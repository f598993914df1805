"""Issue 14, Medium 6: consent is enforced by the server, against a real server with the embedded models.

A withdrawal mid-interview finishes the recording at once (playable while the interview goes on) and nothing said
after it (heard and transcribed all the same) is written; HR's key cannot consent for the candidate; the AI notice's acceptance is stored with its moment
before the interview starts, and a hello that declines it starts nothing. Video needs its own consent: over WebRTC
in tests/server/test_server_rtc.py.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from typing import Any

import av
from server_testkit import Api, Stream, play, read_wav, silence_until

VOICE_HELLO = {
    "type": "hello",
    "mode": "voice",
    "audio": {"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1},
    "consent": True,
    "ai_notice": True,
}
JOB = {
    "title": "Backend Engineer",
    "requirements": ["Python"],
    "questions": [{"text": "Tell me about Python."}, {"text": "How do you test it?"}],
}


def ogg_seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as c:
        assert [s.type for s in c.streams] == ["audio"]
        return sum(float(p.duration * p.time_base) for p in c.demux(audio=0) if p.duration)


def database(live_server: Any) -> sqlite3.Connection:
    return sqlite3.connect(live_server.settings.data_dir / "shanmian.db")


async def test_withdrawing_consent_mid_interview_finishes_the_recording_and_nothing_later_is_written(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    iv = await api.interview(JOB, mode="voice")
    folder = fixtures_dir / "backend_en"
    stream = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    try:
        await stream.send(VOICE_HELLO)
        await stream.until("question", 60)
        await play(stream.ws, read_wav(folder / "q1_strong.wav"))
        await silence_until(stream, ("turn_end",))
        await stream.send({"type": "withdraw_consent"})
        # Acted on as soon as it is read: after the audio sent before it, which a loaded machine may still be taking.
        withdrawn = await stream.until("consent_withdrawn", 120)
        assert withdrawn["recorded_s"] > 1.0

        # At once, with the interview still live: the file is finished, playable, and HR is told why it stops.
        h = (await api.get(f"/v1/interviews/{iv['id']}/highlights")).json()
        assert h["recording"]["status"] == "complete" and h["recording"]["consent"] is False
        assert "withdrew consent" in h["recording"]["note"]
        r = await api.get(f"/v1/interviews/{iv['id']}/recording")
        assert r.status_code == 200 and r.headers["content-type"].startswith("audio/ogg")
        kept = r.content
        assert abs(ogg_seconds(kept) - withdrawn["recorded_s"]) < 0.5
        assert (await api.get(f"/v1/interviews/{iv['id']}")).json()["status"] == "live"

        # The candidate goes on speaking: the interview hears it, the recording does not.
        await play(stream.ws, read_wav(folder / "followup_1.wav"))
        await silence_until(stream, ("turn_end",))
    finally:
        await stream.close()
    # A reconnect's hello still says "consent": true (the page's box): it does not undo the withdrawal.
    stream = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    try:
        await stream.send(VOICE_HELLO)
        assert (await stream.until("ready", 60))["resumed"] is True
        await stream.send({"type": "ping"})
        await stream.until("pong", 60)  # answered once the hello's consent has been dealt with
    finally:
        await stream.close()  # then abandoned after the grace: no wait for the scoring model on a busy machine
    h = (await api.get(f"/v1/interviews/{iv['id']}/highlights")).json()
    assert h["recording"]["consent"] is False and h["recording"]["status"] == "complete"
    interview = await api.settled(iv["id"])
    # The later answer's closing words ("...and the team kept that process afterwards."): it was heard.
    assert "afterwards" in " ".join(turn["answer"] or "" for turn in interview["transcript"]).lower()
    r = await api.get(f"/v1/interviews/{iv['id']}/recording")
    assert r.content == kept, "nothing said after the withdrawal was written"


async def test_the_hr_key_cannot_consent_for_the_candidate(live_server: Any, api: Api) -> None:
    iv = await api.interview(JOB, mode="voice")
    url = f"/v1/interviews/{iv['id']}/consent"
    for body in ({"consent": True}, {"consent": False, "video": True}, {"consent": False, "ai_notice": True}):
        r = await api.post(url, body)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
        assert "only the candidate" in r.json()["error"]["message"]
    h = (await api.get(f"/v1/interviews/{iv['id']}/highlights")).json()
    assert h["recording"]["consent"] is None, "nothing was stored"
    # A refusal HR passes on from the candidate is recorded; the candidate's own consent works with their token.
    assert (await api.post(url, {"consent": False})).json()["consent"] is False
    r = await api.post(f"{url}?token={iv['candidate_token']}", {"consent": True, "ai_notice": True}, auth=False)
    assert r.status_code == 200 and r.json()["consent"] is True
    with database(live_server) as db:
        actors = db.execute(
            "SELECT actor FROM audit_log WHERE interview_id = ? AND action = 'recording_consent' ORDER BY id",
            (iv["id"],),
        ).fetchall()
    assert [a for (a,) in actors] == ["bootstrap-admin", "candidate"]


async def test_the_ai_notice_is_accepted_and_stored_before_the_interview_starts(live_server: Any, api: Api) -> None:
    iv = await api.interview(JOB, mode="text")
    stream = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    try:
        await stream.send({"type": "hello", "mode": "text", "ai_notice": False})
        error = await stream.next()
        assert error["type"] == "error" and error["code"] == "bad_message" and "ai_notice" in error["message"]
        await stream.send({"type": "ping"})
        assert (await stream.next())["type"] == "pong", "the declined hello started nothing"
        assert (await api.get(f"/v1/interviews/{iv['id']}")).json()["status"] == "scheduled"
        await stream.send({"type": "hello", "mode": "text", "ai_notice": True})
        await stream.until("question", 60)
    finally:
        await stream.close()
    with database(live_server) as db:
        accepted = db.execute(
            "SELECT created_at, detail FROM audit_log WHERE interview_id = ? AND action = 'ai_notice_accepted'",
            (iv["id"],),
        ).fetchall()
        (started,) = db.execute("SELECT started_at FROM interviews WHERE id = ?", (iv["id"],)).fetchone()
    assert len(accepted) == 1 and '"hello"' in accepted[0][1]
    assert accepted[0][0] and started and accepted[0][0] <= started, (accepted, started)
