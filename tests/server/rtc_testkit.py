"""A candidate's WebRTC peer for tests: the real aiortc library, a microphone that plays queued PCM in real time,
an optional test-pattern camera, and the `events` data channel."""

from __future__ import annotations

import asyncio
import collections
import fractions
import json
import time
from typing import Any

import av
import httpx
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

FRAME_S = 0.02
RATE = 16000


class Microphone(MediaStreamTrack):
    """20 ms frames of queued 16 kHz PCM, silence when nothing is queued, paced by the wall clock."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.pending: collections.deque[bytes] = collections.deque()
        self._start: float | None = None
        self._ts = 0
        self.unmuted = asyncio.Event()  # cleared: a vanished phone, no frames at all
        self.unmuted.set()

    def play(self, pcm: bytes) -> None:
        step = int(RATE * FRAME_S) * 2
        self.pending.extend(pcm[i : i + step] for i in range(0, len(pcm), step))

    def idle(self) -> bool:
        return not self.pending

    async def recv(self) -> av.AudioFrame:
        n = int(RATE * FRAME_S)
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._ts += n
            await asyncio.sleep(max(0.0, self._start + self._ts / RATE - time.monotonic()))
        await self.unmuted.wait()
        data = (self.pending.popleft() if self.pending else b"").ljust(2 * n, b"\0")
        frame = av.AudioFrame(format="s16", layout="mono", samples=n)
        frame.planes[0].update(data)
        frame.sample_rate, frame.pts, frame.time_base = RATE, self._ts, fractions.Fraction(1, RATE)
        return frame


class TestPattern(MediaStreamTrack):
    """A moving colour-bar camera, 15 frames a second unless told otherwise."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: float = 15) -> None:
        super().__init__()
        self.size = (width, height)
        self.fps = fps
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        self._n += 1
        await asyncio.sleep(max(0.0, self._start + self._n / self.fps - time.monotonic()))
        w, h = self.size
        bars = np.repeat(np.linspace(0, 255, 8, dtype=np.uint8), w // 8)
        image = np.zeros((h, w, 3), np.uint8)
        image[:, : bars.size, 0] = np.roll(bars, self._n * 4)
        image[:, :, 1] = 128
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = self._n * 6000, fractions.Fraction(1, 90000)
        return frame


class RtcCandidate:
    """Offer, answer, then JSON both ways on the data channel."""

    def __init__(
        self,
        offer_url: str,
        *,
        video: bool = False,
        audio: bool = True,
        channel: bool = True,
        audio_tracks: int = 1,
        label: str = "events",
        camera: TestPattern | None = None,
    ) -> None:
        self.offer_url = offer_url
        self.pc = RTCPeerConnection()
        self.mic = Microphone()
        if audio:
            self.pc.addTrack(self.mic)
            for _ in range(audio_tracks - 1):
                self.pc.addTrack(Microphone())
        if video or camera is not None:
            self.pc.addTrack(camera or TestPattern())
        self.inbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.received: list[dict[str, Any]] = []
        self.answer_sdp = ""
        self.channel = self.pc.createDataChannel(label) if channel else None
        self.opened = asyncio.Event()
        if self.channel is not None:
            self.channel.on("open", self.opened.set)
            self.channel.on("message", lambda m: self.inbox.put_nowait(json.loads(m)) if isinstance(m, str) else None)
            self.channel.on("close", lambda: self.inbox.put_nowait(None))

    async def offer(self) -> httpx.Response:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        body = {"sdp": self.pc.localDescription.sdp, "type": "offer"}
        async with httpx.AsyncClient(timeout=30) as c:
            return await c.post(self.offer_url, json=body)

    async def connect(self, hello: dict[str, Any]) -> None:
        await self.answered()
        await asyncio.wait_for(self.opened.wait(), 20)
        self.send(hello)

    async def answered(self) -> None:
        """Offer and apply the server's answer (kept in `answer_sdp`); the channel opens soon after."""
        r = await self.offer()
        assert r.status_code == 200, r.text
        self.answer_sdp = r.json()["sdp"]
        await self.pc.setRemoteDescription(RTCSessionDescription(**r.json()))

    def send(self, message: dict[str, Any]) -> None:
        assert self.channel is not None
        self.channel.send(json.dumps(message))

    async def next(self, seconds: float = 30) -> dict[str, Any] | None:
        message = await asyncio.wait_for(self.inbox.get(), seconds)
        if message is not None:
            self.received.append(message)
        return message

    async def until(self, *kinds: str, seconds: float = 60) -> dict[str, Any]:
        while True:
            message = await self.next(seconds)
            assert message is not None, f"the channel closed before any of {kinds}; got {self.received[-5:]}"
            if message["type"] in kinds:
                return message

    async def close(self) -> None:
        await self.pc.close()
