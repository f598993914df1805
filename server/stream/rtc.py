"""WebRTC for candidates (PROTOCOL.md section 4): the aiortc peer behind `POST /v1/interviews/{id}/rtc/offer`.

The `events` data channel is a stream `Transport`, so the candidate's messages go through the same CandidateStream
as over a WebSocket; the audio track is resampled into its voice pipeline; a video track is recorded in video
mode and ignored otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from msgspec import Struct

from media import PipelineClosed
from server.db.tables import InterviewRow
from server.errors import bad_request
from server.metrics import Metrics
from server.runtime import Runtime
from server.settings import Settings
from server.stream.candidate import TRACK_AUDIO, CandidateStream, join_interview
from server.stream.recording import Recordings
from server.stream.registry import LiveInterviews
from server.stream.transport import Connection, LinkClosed

log = logging.getLogger(__name__)

EVENTS_LABEL = "events"
MAX_SDP_CHARS = 100_000  # a real offer is a few kB; anything near this is not one
CLOSE_FLUSH_S = 1.0  # how long `closed` may take to leave the data channel before the peer is torn down


class SessionDescription(Struct):
    sdp: str
    type: Literal["offer"]


class DataChannelTransport:
    """The `events` data channel as a stream transport; any other end of the peer ends it too."""

    def __init__(self, peer: RtcPeer) -> None:
        self.peer = peer
        self.channel: RTCDataChannel | None = None
        self.inbox: asyncio.Queue[str | bytes | None] = asyncio.Queue()

    def attach_channel(self, channel: RTCDataChannel) -> None:
        self.channel = channel
        channel.on("message", self.inbox.put_nowait)
        channel.on("close", lambda: self.inbox.put_nowait(None))

    async def receive(self) -> str | bytes:
        frame = await self.inbox.get()
        if frame is None:
            self.inbox.put_nowait(None)  # every later receive sees the end too
            raise LinkClosed("the WebRTC peer is gone")
        return frame

    async def send_text(self, data: str) -> None:
        # A channel not open (yet, or any more) drops the frame, as the peer's own end would.
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(data)

    async def close(self, code: int, reason: str) -> None:
        # `closed` was just queued on the channel: give SCTP a moment to deliver it before the transport goes.
        channel = self.channel
        deadline = time.monotonic() + CLOSE_FLUSH_S
        while True:
            if channel is None or channel.bufferedAmount == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        await self.peer.close(reason)


class RtcPeer:
    """One candidate's RTCPeerConnection: its tracks, its data channel, and the watch for a peer that vanished."""

    def __init__(
        self,
        row: InterviewRow,
        pc: RTCPeerConnection,
        *,
        settings: Settings,
        runtime: Runtime,
        recordings: Recordings,
        live_interviews: LiveInterviews,
        on_closed: Any,
        metrics: Metrics | None = None,
    ) -> None:
        self.row = row
        self.pc = pc
        self.settings = settings
        self.live_interviews = live_interviews
        self.link = DataChannelTransport(self)
        self.stream = CandidateStream(
            Connection(self.link), settings, runtime, recordings, track_audio=True, metrics=metrics
        )
        self.closed = False
        self.last_media = time.monotonic()
        self._on_closed = on_closed
        self._tasks: set[asyncio.Task[None]] = set()
        pc.on("datachannel", self._on_datachannel)
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", self._on_state)
        self._spawn(self._watch())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        if channel.label != EVENTS_LABEL or self.link.channel is not None:
            log.info("interview %s: ignoring data channel %r", self.row.id, channel.label)
            return
        self.link.attach_channel(channel)
        if channel.readyState == "open":
            self._spawn(self._join())
        else:
            channel.on("open", lambda: self._spawn(self._join()))

    async def _join(self) -> None:
        try:
            await join_interview(self.stream, self.row, self.live_interviews)
        finally:
            await self.close("the candidate stream ended")

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._spawn(self._pump_audio(track))
        elif track.kind == "video":
            self._spawn(self._pump_video(track))

    def _on_state(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            self._spawn(self.close(f"connection {self.pc.connectionState}"))

    async def _frames(self, track: MediaStreamTrack) -> AsyncIterator[Any]:
        """The track's frames until it ends or the peer closes; each one is a sign of life for the drop watch."""
        while not self.closed:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.last_media = time.monotonic()
            yield frame

    async def _pump_audio(self, track: MediaStreamTrack) -> None:
        """Decoded frames (48 kHz Opus from a browser) → 16 kHz mono PCM → the connection's voice pipeline."""
        resampler = av.AudioResampler(format="s16", layout="mono", rate=TRACK_AUDIO.sample_rate)
        async for frame in self._frames(track):
            voice = self.stream.voice
            if voice is None:
                continue  # before the hello (or in text mode) the microphone has no one to talk to
            if not isinstance(frame, av.AudioFrame):
                continue
            # The pipeline takes PCM of any length: each resampled frame goes in as it comes.
            for out in resampler.resample(frame):
                try:
                    await voice.push(bytes(out.planes[0])[: out.samples * 2])
                except PipelineClosed as exc:
                    log.debug("interview %s: audio not taken: %s", self.row.id, exc)

    async def _pump_video(self, track: MediaStreamTrack) -> None:
        """Recorded in video mode; in any other mode read and dropped, so decoded frames do not pile up."""
        async for frame in self._frames(track):
            stream = self.stream
            if stream.hello is None or stream.hello.mode != "video" or stream.recording is None:
                continue
            if stream.live is not None:
                stream.recording.video(frame, stream.live.clock())

    async def _watch(self) -> None:
        """A peer that vanishes without closing sends nothing more: after `rtc_drop_timeout_s` it has dropped."""
        timeout = self.settings.rtc_drop_timeout_s
        while not self.closed:
            await asyncio.sleep(min(0.5, timeout / 4))
            if time.monotonic() - self.last_media > timeout:
                log.info("interview %s: no media from the WebRTC peer for %.1f s; dropped", self.row.id, timeout)
                await self.close("no media from the peer")
                return

    async def close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        log.info("interview %s: WebRTC peer closed (%s)", self.row.id, reason)
        self.link.inbox.put_nowait(None)  # the candidate stream ends as a WebSocket's would on disconnect
        self._on_closed(self)
        with contextlib.suppress(Exception):
            await self.pc.close()


class RtcPeers:
    """This process's WebRTC peers, one per interview at most."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._peers: dict[str, RtcPeer] = {}

    def configuration(self) -> RTCConfiguration:
        urls = [u.strip() for u in self.settings.ice_servers.split(",") if u.strip()]
        servers = [
            RTCIceServer(
                urls=url,
                username=self.settings.ice_username or None,
                credential=self.settings.ice_password or None,
            )
            for url in urls
        ]
        return RTCConfiguration(iceServers=servers)

    def get(self, interview_id: str) -> RtcPeer | None:
        return self._peers.get(interview_id)

    def add(self, peer: RtcPeer) -> None:
        self._peers[peer.row.id] = peer

    def forget(self, peer: RtcPeer) -> None:
        if self._peers.get(peer.row.id) is peer:
            del self._peers[peer.row.id]

    async def shutdown(self) -> None:
        for peer in list(self._peers.values()):
            await peer.close("server shutting down")
        self._peers.clear()


async def answer_offer(pc: RTCPeerConnection, offer: SessionDescription) -> RTCSessionDescription:
    """Apply the offer and produce the answer; raises ApiError 400 for an offer that cannot be used."""
    if len(offer.sdp) > MAX_SDP_CHARS:
        raise bad_request(f"the SDP offer is {len(offer.sdp)} characters; a real offer is far shorter")
    if not offer.sdp.lstrip().startswith("v=0") or "\nm=" not in offer.sdp:
        raise bad_request("the SDP offer could not be read: it needs a 'v=0' line and media ('m=') lines")
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
    except Exception as exc:  # aiortc raises ValueError, KeyError, IndexError… for SDP it cannot read
        raise bad_request(f"the SDP offer could not be read: {exc or type(exc).__name__}") from None
    kinds = {t.kind for t in pc.getTransceivers()}
    if "audio" not in kinds:
        raise bad_request("the offer has no audio track; add the microphone (an audio track) to the peer connection")
    if pc.sctp is None:
        raise bad_request(f"the offer has no data channel; create one labelled {EVENTS_LABEL!r} before the offer")
    for transceiver in pc.getTransceivers():
        # Nothing is sent to the candidate over media: the interviewer's words go on the data channel.
        transceiver.direction = "recvonly"
    try:
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as exc:
        raise bad_request(f"no answer can be made to this offer: {exc or type(exc).__name__}") from None
    return pc.localDescription
