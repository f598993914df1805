"""The candidate stream in voice mode against a real server and the real models, audio sent faster than real time.

The turn decisions run on the audio clock, so playing the fixtures at 2x (the most the server accepts: faster audio
is dropped with `rate_limited`) tests the same behaviour as a person.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from server_testkit import FRAME_BYTES, Api, Stream, play, read_wav, silence_until

HELLO = {"type": "hello", "mode": "voice", "audio": {"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1}}


def scenario(fixtures_dir: Path, name: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    manifest = json.loads((fixtures_dir / name / "manifest.json").read_text())
    job = dict(manifest["scenario"]["job"], questions=[{"text": q} for q in manifest["scenario"]["questions"]])
    clips = {c["id"]: dict(c, pcm=read_wav(fixtures_dir / name / c["file"])) for c in manifest["clips"]}
    return job, clips


async def join(live_server: Any, iv: dict[str, Any], hello: dict[str, Any] = HELLO) -> Stream:
    stream = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    await stream.send(hello)
    assert (await stream.next())["type"] == "ready"
    return stream


async def say(stream: Stream, clip: dict[str, Any]) -> dict[str, Any]:
    """Speak a clip, then stay silent until the interviewer answers; returns that next message."""
    await play(stream.ws, clip["pcm"])
    return await silence_until(stream, ("question", "report", "closed"))


@pytest.mark.timeout(900)  # among the slowest real-model tests: see timeout in pyproject.toml
async def test_a_whole_voice_interview_with_spoken_rephrase_and_repeat(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    job, clips = scenario(fixtures_dir, "backend_en")
    iv = await api.interview(job, mode="voice")
    stream = await join(live_server, iv)
    first = await stream.until("question")
    assert first["kind"] == "main" and first["index"] == 1

    again = await say(stream, clips["rephrase_1"])
    assert again["kind"] == "rephrase" and again["question_id"] == first["question_id"]
    q2 = await say(stream, clips["q1_strong"])
    assert q2["kind"] == "main" and q2["index"] == 2
    repeated = await say(stream, clips["repeat_1"])
    assert repeated["kind"] == "repeat" and repeated["text"] == q2["text"]
    q3 = await say(stream, clips["q2_strong"])
    assert q3["kind"] == "main" and q3["index"] == 3
    closing = await say(stream, clips["q3_pause"])
    assert closing["kind"] == "closing", "the thinking pause in q3_pause must not cut the answer in two"
    report = await say(stream, clips["closing_1"])
    assert report["type"] == "report"
    assert (await stream.until("closed"))["type"] == "closed"

    kinds = [m["type"] for m in stream.received]
    for kind in ("speech_started", "speech_stopped", "transcript", "turn_end"):
        assert kind in kinds
    finals = [m for m in stream.received if m["type"] == "transcript" and m["final"]]
    partials = [m for m in stream.received if m["type"] == "transcript" and not m["final"]]
    assert finals and partials
    assert all(f["end"] >= f["start"] >= 0 for f in finals)
    turn_ends = [m["text"] for m in stream.received if m["type"] == "turn_end"]
    assert len(turn_ends) == 6
    assert "pause" not in turn_ends[4] and "service level objectives" in turn_ends[4].lower()
    assert "alerts" in turn_ends[4].lower() or "error budget" in turn_ends[4].lower()

    body = (await api.get(f"/v1/interviews/{iv['id']}")).json()
    assert body["status"] == "completed"
    answers = [t["answer"] for t in body["transcript"]]
    assert len(answers) == 4, "the spoken rephrase and repeat requests are not answers"
    assert "saga" in answers[0].lower() and all(t["start"] is not None for t in body["transcript"])
    assert (await api.get(f"/v1/interviews/{iv['id']}/report")).json()["overall"] > 0


async def test_a_chinese_voice_interview_is_transcribed_in_simplified_characters(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    job, clips = scenario(fixtures_dir, "backend_zh")
    iv = await api.interview(job, mode="voice")
    stream = await join(live_server, iv)
    first = await stream.until("question")
    again = await say(stream, clips["zh_rephrase_1"])
    assert again["kind"] == "rephrase" and again["question_id"] == first["question_id"]
    nxt = await say(stream, clips["zh_q1_strong"])
    assert nxt["kind"] == "main" and nxt["index"] == 2
    turn = [m["text"] for m in stream.received if m["type"] == "turn_end"][-1]
    assert "团队" in turn and "服务" in turn, turn
    assert not set("團隊個時務體際") & set(turn), f"Traditional characters reached the candidate: {turn}"
    await stream.send({"type": "end"})
    await stream.until("closed")


@pytest.mark.parametrize(
    ("audio", "words"),
    [
        ({"encoding": "opus", "sample_rate": 16000, "channels": 1}, ["encoding"]),
        ({"encoding": "pcm_s16le", "sample_rate": 96000, "channels": 1}, ["sample_rate"]),
        ({"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 6}, ["channels"]),
        (None, ["audio"]),
    ],
    ids=["encoding", "sample-rate", "channels", "missing"],
)
async def test_unsupported_audio_in_hello_is_refused_until_a_good_hello(
    live_server: Any, api: Api, fixtures_dir: Path, audio: dict[str, Any] | None, words: list[str]
) -> None:
    job, _ = scenario(fixtures_dir, "backend_en")
    iv = await api.interview(job, mode="voice")
    stream = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    await stream.send({"type": "hello", "mode": "voice", "audio": audio})
    error = await stream.next()
    assert error["type"] == "error" and error["code"] == "unsupported_audio"
    assert all(w in error["message"] for w in words)
    await stream.send(HELLO)
    assert (await stream.next())["type"] == "ready"
    await stream.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [(b"\x01" * 641, "bad_message"), (b"", "bad_message"), (b"\0" * 32000, "too_large")],
    ids=["odd-bytes", "empty", "over-500-ms"],
)
async def test_bad_audio_frames_get_errors_and_the_session_goes_on(
    live_server: Any, api: Api, fixtures_dir: Path, frame: bytes, code: str
) -> None:
    job, clips = scenario(fixtures_dir, "backend_en")
    iv = await api.interview(job, mode="voice")
    stream = await join(live_server, iv)
    await stream.until("question")
    await stream.send(frame)
    error = await stream.until("error")
    assert error["code"] == code and ("ms" in error["message"] or "sample" in error["message"])
    nxt = await say(stream, clips["q1_strong"])
    assert nxt["kind"] == "main" and nxt["index"] == 2
    await stream.close()


async def test_silence_and_noise_produce_no_turns_and_no_crash(live_server: Any, api: Api, fixtures_dir: Path) -> None:
    # Ten minutes of silence through the pipeline itself: tests/media/test_media_bad_input.py (the server takes
    # audio at twice real time at most, so here a shorter stretch).
    job, clips = scenario(fixtures_dir, "backend_en")
    iv = await api.interview(job, mode="voice")
    stream = await join(live_server, iv)
    await stream.until("question")
    await play(stream.ws, b"\0" * 32000 * 20, frame=16000)  # 20 s in 500 ms frames
    rng = np.random.default_rng(7)
    clipped = np.clip(rng.normal(0, 20000, 16000 * 5), -32768, 32767).astype("<i2").tobytes()
    await play(stream.ws, clipped, frame=FRAME_BYTES * 10)
    await stream.send({"type": "ping"})
    seen = []
    while (m := await stream.next(60))["type"] != "pong":
        seen.append(m)
    assert not [m for m in seen if m["type"] in ("turn_end", "question", "error")]
    nxt = await say(stream, clips["q1_strong"])
    assert nxt["kind"] == "main" and nxt["index"] == 2


async def test_audio_faster_than_twice_real_time_is_dropped_with_rate_limited_and_the_session_goes_on(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    job, clips = scenario(fixtures_dir, "backend_en")
    iv = await api.interview(job, mode="voice")
    stream = await join(live_server, iv)
    await stream.until("question")
    flood = clips["q2_strong"]["pcm"]  # 27 s of speech, sent as fast as the socket takes it
    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(play(stream.ws, flood, pace=1e9, frame=16000), timeout=60)
    nxt = await silence_until(stream, ("question",))
    elapsed = asyncio.get_running_loop().time() - started
    refused = [m for m in stream.received if m["type"] == "error"]
    assert refused and all(m["code"] == "rate_limited" for m in refused), refused
    assert "2x real time" in refused[0]["message"] and "dropped" in refused[0]["message"]
    # One error a second at most, not one per dropped frame.
    assert len(refused) <= elapsed + 1, (len(refused), elapsed)
    # Only what the limit let through (a 5 s burst, then twice real time while the server reads the flood as slowly)
    # was heard: part of the clip.
    heard = [m["text"] for m in stream.received if m["type"] == "turn_end"]
    assert len(heard) == 1 and 0 < len(heard[0].split()) < len(clips["q2_strong"]["text"].split()), heard
    assert nxt["type"] == "question"


async def test_audio_in_a_text_session_is_refused(live_server: Any, api: Api, fixtures_dir: Path) -> None:
    job, _ = scenario(fixtures_dir, "backend_en")
    iv = await api.interview(job, mode="text")
    stream = await join(live_server, iv, {"type": "hello", "mode": "text"})
    await stream.until("question")
    await stream.send(b"\0" * FRAME_BYTES)
    error = await stream.until("error")
    assert error["code"] == "bad_message" and "text" in error["message"]


async def test_a_dropped_voice_connection_keeps_the_words_already_spoken(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    job, clips = scenario(fixtures_dir, "backend_en")
    iv = await api.interview(job, mode="voice")
    stream = await join(live_server, iv)
    await stream.until("question")
    await play(stream.ws, clips["q1_strong"]["pcm"])
    stream.ws.transport.abort()
    # The server finishes the turn from the audio it already has: transcribing it takes what the box needs.
    body = await api.poll(f"/v1/interviews/{iv['id']}", lambda b: len(b["transcript"]) > 0)
    assert len(body["transcript"]) == 1 and "saga" in body["transcript"][0]["answer"].lower()
    again = await join(live_server, iv)
    resent = await again.until("question")
    assert resent["index"] == 2
    await again.close()


@pytest.mark.parametrize("delay", [0.0, 0.4, 0.8])
async def test_rejoining_while_the_dropped_turn_is_still_processed_gets_each_question_once(
    live_server: Any, api: Api, fixtures_dir: Path, delay: float
) -> None:
    job, clips = scenario(fixtures_dir, "backend_en")
    iv = await api.interview(job, mode="voice")
    stream = await join(live_server, iv)
    await stream.until("question")
    await play(stream.ws, clips["q1_weak"]["pcm"])
    stream.ws.transport.abort()  # mid-turn: the server finishes the turn while the candidate rejoins
    await asyncio.sleep(delay)
    again = await join(live_server, iv)
    quiet = asyncio.create_task(play(again.ws, b"\0" * 32000 * 6, pace=2))  # 3 s of listening
    questions = []
    while not quiet.done():
        try:
            message = await again.next(0.5)
        except TimeoutError:
            continue
        if message["type"] == "question":
            questions.append(message)
    ids = [(q["question_id"], q["kind"]) for q in questions]
    assert ids and len(ids) == len(set(ids)), f"a question was sent twice to the rejoined candidate: {ids}"
    await again.close()
