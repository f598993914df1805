"""Issue 14, Medium 7: the WebRTC path has the WebSocket's limits. With a real aiortc peer against a real server:
a data-channel flood and an oversized message get the WebSocket's `rate_limited` and `too_large` errors (the same
words) and the session goes on; an offer with a second audio track is refused; video is not received outside a video
interview, and a 30 fps camera is recorded at 15 frames a second in one; a peer that never says hello, with or
without an `events` channel, is closed after the hello timeout.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
import websockets
from security_testkit import InProcessServer, hr, schedule, start_in_process

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from rtc_testkit import RtcCandidate, TestPattern  # the WebRTC test peer lives with the server tests

MAX_BYTES = 2048  # small, so an oversized message fits in one SCTP message the peer will send
TEXT_HELLO = {"type": "hello", "mode": "text"}


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessServer]:
    srv = await start_in_process(tmp_path_factory.mktemp("rtc-limits"), max_message_bytes=MAX_BYTES)
    yield srv
    await srv.stop()


def offer_url(server: InProcessServer, iv: dict[str, Any]) -> str:
    return f"{server.base}/v1/interviews/{iv['id']}/rtc/offer?token={iv['candidate_token']}"


async def in_interview(server: InProcessServer, mode: str = "text") -> RtcCandidate:
    iv = await schedule(server.base, mode=mode)
    peer = RtcCandidate(offer_url(server, iv))
    await peer.connect(TEXT_HELLO)
    await peer.until("question")
    return peer


async def drain(peer: RtcCandidate, seconds: float) -> list[dict[str, Any]]:
    """Everything the server sends within `seconds`."""
    got = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = await peer.next(left)
        except TimeoutError:
            break
        if message is None:
            break
        got.append(message)
    return got


async def websocket_error(server: InProcessServer, frames: list[str], code: str) -> str:
    """The message of the first `code` error a candidate WebSocket gets for `frames` after its first question."""
    iv = await schedule(server.base)
    async with websockets.connect(f"{server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}") as ws:
        await ws.send(json.dumps(TEXT_HELLO))
        while json.loads(await ws.recv())["type"] != "question":
            pass
        for frame in frames:
            await ws.send(frame)
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message["type"] == "error" and message["code"] == code:
                return str(message["message"])


async def test_a_data_channel_flood_gets_the_websockets_rate_limited_error_and_the_session_goes_on(
    server: InProcessServer,
) -> None:
    peer = await in_interview(server)
    try:
        for _ in range(100):
            peer.send({"type": "ping"})
        got = await drain(peer, 3.0)
        pongs = [m for m in got if m["type"] == "pong"]
        limited = [m for m in got if m["type"] == "error" and m["code"] == "rate_limited"]
        # A burst of 40, then 4 a second: most of 100 pings at once are refused, and each refusal is said.
        assert len(pongs) + len(limited) == 100 and len(pongs) <= 40 + 4 * 3 + 1, (len(pongs), len(limited))
        ws_words = await websocket_error(server, [json.dumps({"type": "ping"})] * 60, "rate_limited")
        assert limited[0]["message"] == ws_words
        await asyncio.sleep(1.0)
        peer.send({"type": "ping"})
        assert (await peer.until("pong"))["type"] == "pong"
    finally:
        await peer.close()


async def test_an_oversized_data_channel_message_gets_the_websockets_too_large_error(server: InProcessServer) -> None:
    peer = await in_interview(server)
    big = json.dumps({"type": "answer", "text": "x" * (MAX_BYTES + 100)})
    try:
        peer.channel.send(big)  # type: ignore[union-attr]
        error = await peer.until("error")
        assert error["code"] == "too_large"
        assert error["message"] == await websocket_error(server, [big], "too_large")
        peer.send({"type": "ping"})
        await peer.until("pong")
        # Binary messages are counted and sized the same way: an oversized one is refused before anything else.
        peer.channel.send(b"\x00" * (MAX_BYTES + 1))  # type: ignore[union-attr]
        assert (await peer.until("error"))["code"] == "too_large"
    finally:
        await peer.close()


async def test_an_offer_with_a_second_audio_track_is_refused_clearly(server: InProcessServer) -> None:
    iv = await schedule(server.base, mode="voice")
    peer = RtcCandidate(offer_url(server, iv), audio_tracks=2)
    try:
        r = await peer.offer()
    finally:
        await peer.close()
    assert r.status_code == 400
    assert "2 audio tracks; send one, the microphone" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("mode", "direction"), [("voice", "a=inactive"), ("text", "a=inactive"), ("video", "a=recvonly")]
)
async def test_video_is_received_only_in_a_video_interview(server: InProcessServer, mode: str, direction: str) -> None:
    iv = await schedule(server.base, mode=mode)
    peer = RtcCandidate(offer_url(server, iv), video=True)
    try:
        await peer.answered()
    finally:
        await peer.close()
    video = peer.answer_sdp.split("m=video", 1)[1].split("m=", 1)[0]
    audio = peer.answer_sdp.split("m=audio", 1)[1].split("m=", 1)[0]
    assert direction in video and "a=recvonly" in audio


async def test_a_peer_that_never_says_hello_is_closed_after_the_hello_timeout(server: InProcessServer) -> None:
    timeout = server.settings.hello_timeout_s
    iv = await schedule(server.base)
    peer = RtcCandidate(offer_url(server, iv))
    try:
        await peer.answered()
        started = time.monotonic()
        error = await peer.until("error", seconds=timeout + 5)
        assert error["code"] == "bad_message" and f"no hello within {timeout:.0f} s" in error["message"]
        assert (await peer.until("closed", seconds=5))["type"] == "closed"
        assert timeout - 0.5 < time.monotonic() - started < timeout + 3
    finally:
        await peer.close()


async def test_a_peer_without_an_events_channel_is_let_go_after_the_hello_timeout(server: InProcessServer) -> None:
    timeout = server.settings.hello_timeout_s
    iv = await schedule(server.base)
    silent = RtcCandidate(offer_url(server, iv), label="not-events")  # media flows, so the drop watch never fires
    later = RtcCandidate(offer_url(server, iv))
    try:
        await silent.answered()
        started = time.monotonic()
        assert (await later.offer()).status_code == 409  # the interview's one WebRTC place is taken
        while (await later.offer()).status_code == 409:
            assert time.monotonic() - started < timeout + 3, "the silent peer still holds the interview"
            await asyncio.sleep(0.25)
        assert time.monotonic() - started > timeout - 0.5
    finally:
        await silent.close()
        await later.close()


async def test_a_30_fps_camera_is_recorded_at_15_frames_a_second(tmp_path: Path) -> None:
    # Speech recognition on (a video interview is a voice one too), no language or scoring model: the report is
    # ready as soon as the interview ends.
    srv = await start_in_process(tmp_path, voice=True)
    try:
        iv = await schedule(srv.base, mode="video")
        peer = RtcCandidate(offer_url(srv, iv), camera=TestPattern(fps=30))
        try:
            hello = {"type": "hello", "mode": "video", "consent": True, "video_consent": True, "ai_notice": True}
            await peer.connect(hello)
            await peer.until("question")
            await asyncio.sleep(6.0)
            peer.send({"type": "end"})
            closed = await peer.until("closed", seconds=60)
        finally:
            await peer.close()
        async with httpx.AsyncClient(base_url=srv.base, headers=hr(), timeout=30) as c:
            for _ in range(200):
                r = await c.get(f"/v1/interviews/{iv['id']}/recording")
                if r.status_code != 409:  # 409 while the file is still being finished
                    break
                await asyncio.sleep(0.1)
        assert r.status_code == 200 and r.headers["content-type"].startswith("video/webm"), r.text
        with av.open(io.BytesIO(r.content)) as container:
            frames = sum(1 for _ in container.decode(video=0))
        seconds = closed["t"]
        # The camera sent about 30 a second from the start; the recording keeps about 15 of them from the hello on.
        assert 10 * (seconds - 3) < frames <= 15 * seconds + 4, (frames, seconds)
    finally:
        await srv.stop()
