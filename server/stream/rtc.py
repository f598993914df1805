"""WebRTC for candidates (PROTOCOL.md section 4): the aiortc peer behind `POST /v1/interviews/{id}/rtc/offer`.

The `events` data channel is a stream `Transport`, so the candidate's messages go through the same CandidateStream
(and consent gate) as over a WebSocket; what arrives on it is counted and sized as the WebSocket's text frames are,
with the same settings, bucket implementation and error codes, before anything is queued. The one audio track is
resampled into the voice pipeline. A video track is received (so decoded) only in a video interview, and reaches
the recording through the caps of server/stream/video_intake.py; in any other mode it is answered `inactive` and
never decoded. A peer that has not said hello within the hello timeout is closed, whether or not its data
channel ever opened.
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
from server.ratelimit import TokenBuckets
from server.runtime import Runtime
from server.settings import Settings
from server.stream.candidate import TRACK_AUDIO, CandidateStream, join_interview
from server.stream.consent import candidate_connection
from server.stream.messages import ErrorOut, encode
from server.stream.recording import Recordings
from server.stream.registry import LiveInterviews
from server.stream.transport import LinkClosed
from server.stream.video_intake import VideoIntake

log = logging.getLogger(__name__)

EVENTS_LABEL = "events"
MAX_SDP_CHARS = 100_000  # a real offer is a few kB; anything near this is not one
CLOSE_FLUSH_S = 1.0  # how long `closed` may take to leave the data channel before the peer is torn down


class SessionDescription(Struct):
    sdp: str
    type: Literal["offer"]


class DataChannelTransport:
    """The `events` data channel as a stream transport; any other end of the peer ends it too.

    Every message is counted against the peer's bucket and its size checked as it arrives, so a flood or an
    oversized message is answered (`rate_limited`, `too_large`) and dropped, never queued.
    """

    def __init__(self, peer: RtcPeer) -> None:
        self.peer = peer
        self.channel: RTCDataChannel | None = None
        self.inbox: asyncio.Queue[str | bytes | None] = asyncio.Queue()

    def attach_channel(self, channel: RTCDataChannel) -> None:
        self.channel = channel
        channel.on("message", self._arrived)
        channel.on("close", lambda: self.inbox.put_nowait(None))

    def _arrived(self, frame: str | bytes) -> None:
        settings = self.peer.settings
        # Binary messages count too: on this channel none is valid, so they must not escape the limit.
        if not self.peer.buckets.allow(self.peer.row.id):
            self._refuse(
                "rate_limited",
                f"more than {settings.stream_rate_limit_per_minute} messages a minute; this one was dropped, "
                "slow down and send it again",
            )
            return
        size = len(frame.encode()) if isinstance(frame, str) else len(frame)
        if size > settings.max_message_bytes:
            self._refuse("too_large", f"the message is larger than {settings.max_message_bytes} bytes")
            return
        self.inbox.put_nowait(frame)

    def _refuse(self, code: str, message: str) -> None:
        stream = self.peer.stream
        if stream.metrics is not None:
            stream.metrics.client_error("stream", code)
        clock = stream.conn.clock
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(encode(ErrorOut(code=code, message=message, t=clock() if clock else 0.0)))

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
        buckets: TokenBuckets,
        metrics: Metrics | None = None,
    ) -> None:
        self.row = row
        self.pc = pc
        self.settings = settings
        self.live_interviews = live_interviews
        self.buckets = buckets
        self.link = DataChannelTransport(self)
        conn = candidate_connection(self.link, row.id, recordings, settings.max_message_bytes)
        self.stream = CandidateStream(conn, settings, runtime, recordings, track_audio=True, metrics=metrics)
        # Only a video interview receives video; in any other the track is answered inactive and never decoded.
        self.receives_video = row.mode == "video"
        self.closed = False
        self.last_media = time.monotonic()
        self._on_closed = on_closed
        self._tasks: set[asyncio.Task[None]] = set()
        self._joined = False
        self._audio_track: MediaStreamTrack | None = None
        self._video_track: MediaStreamTrack | None = None
        pc.on("datachannel", self._on_datachannel)
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", self._on_state)
        self._spawn(self._watch())
        self._spawn(self._hello_deadline())

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
        self._joined = True  # from here the stream's own hello timeout applies
        try:
            await join_interview(self.stream, self.row, self.live_interviews)
        finally:
            await self.close("the candidate stream ended")

    async def _hello_deadline(self) -> None:
        """A peer whose `events` channel never opened (or that opened another) never meets the stream's hello
        timeout: it is let go after the same time, so it cannot hold the interview's one WebRTC place."""
        await asyncio.sleep(self.settings.hello_timeout_s)
        if not self._joined and not self.closed:
            log.info(
                "interview %s: no events channel within %.0f s; closed", self.row.id, self.settings.hello_timeout_s
            )
            await self.close(f"no hello within {self.settings.hello_timeout_s:.0f} s")

    def _on_track(self, track: MediaStreamTrack) -> None:
        # answer_offer refuses offers with a second track of a kind; these checks keep to one if one comes anyway.
        if track.kind == "audio" and self._audio_track is None:
            self._audio_track = track
            self._spawn(self._pump_audio(track))
        elif track.kind == "video" and self.receives_video and self._video_track is None:
            self._video_track = track
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
        """Into a video recording through the intake's caps; otherwise read and dropped, so decoded frames do not
        pile up in the track."""
        intake: VideoIntake | None = None
        try:
            async for frame in self._frames(track):
                stream = self.stream
                recording = stream.recording
                if stream.hello is None or stream.hello.mode != "video" or stream.live is None:
                    continue
                if recording is None or not recording.spec.video or recording.stopped:
                    continue  # not recorded, audio only (no video consent), or consent withdrawn
                if intake is None:
                    intake = VideoIntake(recording.video, recording.spec.width, recording.spec.height)
                intake.offer(frame, stream.live.clock())
        finally:
            if intake is not None:
                await intake.close()
                log.debug("interview %s: video frames kept %d, dropped %s", self.row.id, intake.kept, intake.dropped)

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
        # The WebSocket's implementation and settings (server/ratelimit.py), one bucket per interview.
        self.buckets = TokenBuckets(settings.stream_rate_limit_per_minute, settings.stream_rate_limit_burst)

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


async def answer_offer(pc: RTCPeerConnection, offer: SessionDescription, *, video: bool) -> RTCSessionDescription:
    """Apply the offer and produce the answer, receiving video only with `video`; raises ApiError 400 for an
    offer that cannot be used."""
    if len(offer.sdp) > MAX_SDP_CHARS:
        raise bad_request(f"the SDP offer is {len(offer.sdp)} characters; a real offer is far shorter")
    if not offer.sdp.lstrip().startswith("v=0") or "\nm=" not in offer.sdp:
        raise bad_request("the SDP offer could not be read: it needs a 'v=0' line and media ('m=') lines")
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
    except Exception as exc:  # aiortc raises ValueError, KeyError, IndexError… for SDP it cannot read
        raise bad_request(f"the SDP offer could not be read: {exc or type(exc).__name__}") from None
    kinds = [t.kind for t in pc.getTransceivers()]
    if "audio" not in kinds:
        raise bad_request("the offer has no audio track; add the microphone (an audio track) to the peer connection")
    for kind, what in (("audio", "the microphone"), ("video", "the camera")):
        if kinds.count(kind) > 1:
            raise bad_request(f"the offer has {kinds.count(kind)} {kind} tracks; send one, {what}")
    if pc.sctp is None:
        raise bad_request(f"the offer has no data channel; create one labelled {EVENTS_LABEL!r} before the offer")
    for transceiver in pc.getTransceivers():
        # Nothing is sent to the candidate over media: the interviewer's words go on the data channel. An inactive
        # transceiver's receiver is never started, so its packets are not even decoded.
        transceiver.direction = "recvonly" if transceiver.kind == "audio" or video else "inactive"
    try:
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as exc:
        raise bad_request(f"no answer can be made to this offer: {exc or type(exc).__name__}") from None
    return pc.localDescription
