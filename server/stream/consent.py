"""The candidate's consents on their own stream (PROTOCOL.md section 2, additions): the AI notice, accepted in the
hello (kept on the interview: `Store.accept_ai_notice`), and `withdraw_consent`, which stops the recording at any
moment of the interview.

`ConsentGate` sits between a candidate connection and its transport (WebSocket or WebRTC data channel), so both
carry the same rules: a withdrawal is acted on as soon as it arrives, ahead of the interview's queued work, and a
hello that declines the AI notice never reaches the interview.
"""

from __future__ import annotations

import contextlib

from server.stream.messages import BadMessage, ConsentWithdrawnOut, Hello, WithdrawConsent, decode_candidate
from server.stream.recording import Recordings
from server.stream.transport import Connection, LinkClosed, Transport

NOTICE_DECLINED = (
    'the interview cannot start without the AI notice: send the hello with "ai_notice": true once the candidate '
    "has read that an AI system conducts and scores this interview"
)


class ConsentGate:
    """A Transport in front of the candidate's own: consent messages are handled here, the rest passes through."""

    def __init__(self, transport: Transport, interview_id: str, recordings: Recordings, max_bytes: int) -> None:
        self.transport = transport
        self.interview_id = interview_id
        self.recordings = recordings
        self.max_bytes = max_bytes  # larger frames are the stream's to refuse (`too_large`), not to decode here
        self.conn: Connection | None = None  # the connection over this gate: replies go out stamped by it
        self._notice_stored = False

    async def receive(self) -> str | bytes:
        while True:
            frame = await self.transport.receive()
            # Only frames that may be consent messages are decoded twice; the check is on the raw text, and a
            # frame with escapes (which could spell the type another way) is always decoded.
            if not isinstance(frame, str) or len(frame) > self.max_bytes:
                return frame
            maybe_hello = "hello" in frame and not self._notice_stored
            if "withdraw_consent" not in frame and "\\" not in frame and not maybe_hello:
                return frame
            try:
                message = decode_candidate(frame)
            except BadMessage:
                return frame  # the stream answers it as it answers any malformed frame
            if isinstance(message, WithdrawConsent):
                await self._withdraw()
                continue
            if isinstance(message, Hello) and message.ai_notice is False:
                await self._reply_error("bad_message", NOTICE_DECLINED)
                continue
            if isinstance(message, Hello) and message.ai_notice:
                await self.recordings.store.accept_ai_notice(self.interview_id, "hello")
                self._notice_stored = True
            return frame

    async def _withdraw(self) -> None:
        seconds = await self.recordings.withdraw(self.interview_id, "stream")
        await self.recordings.store.audit("candidate", "recording_consent", self.interview_id, consent=False)
        if self.conn is not None:
            with contextlib.suppress(LinkClosed):
                await self.conn.send(ConsentWithdrawnOut(recorded_s=None if seconds is None else round(seconds, 3)))

    async def _reply_error(self, code: str, message: str) -> None:
        if self.conn is not None:
            with contextlib.suppress(LinkClosed):
                await self.conn.error(code, message)

    async def send_text(self, data: str) -> None:
        await self.transport.send_text(data)

    async def close(self, code: int, reason: str) -> None:
        await self.transport.close(code, reason)


def candidate_connection(transport: Transport, interview_id: str, recordings: Recordings, max_bytes: int) -> Connection:
    """The candidate's connection, its consent messages handled in front of the stream."""
    gate = ConsentGate(transport, interview_id, recordings, max_bytes)
    conn = Connection(gate)
    gate.conn = conn
    return conn
