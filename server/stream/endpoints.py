"""The stream endpoints: who may connect to an interview, and over what; then the connection is handed to its stream.

The candidate's WebSocket (PROTOCOL.md section 2), the observer's WebSocket (section 3) and the candidate's WebRTC
offer (section 4). Each checks the interview and the token, and says what is wrong in the protocol's own terms.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from aiortc import RTCPeerConnection
from litestar import Request, WebSocket, post, websocket
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_401_UNAUTHORIZED
from msgspec import Struct

from server.auth import authenticator, bearer_key
from server.bus import Bus
from server.db.status import ENDED
from server.db.store import Store
from server.errors import ApiError, conflict, errors, not_found
from server.interview_tokens import CANDIDATE_REFUSED, candidate_token_opens, observer_token_opens
from server.metrics import Metrics
from server.observer_tickets import ObserverTickets
from server.ratelimit import Allowances, StreamHandshakes
from server.runtime import Runtime
from server.settings import Settings
from server.stream.candidate import CandidateStream, join_interview
from server.stream.consent import candidate_connection
from server.stream.observer import (
    OBSERVER_TOKEN_PASS,
    ObserverSeats,
    ObserverStream,
    observer_author,
    observer_pass,
)
from server.stream.recording import Recordings
from server.stream.registry import LiveInterviews
from server.stream.rtc import RtcPeer, RtcPeers, SessionDescription, answer_offer
from server.stream.transport import CLOSE_POLICY, Connection, LinkClosed
from server.stream.websocket import WebSocketTransport


def client_address(socket: WebSocket[Any, Any, Any]) -> str:
    # The address the server sees, as the wrong-key limit counts it (server/auth.py).
    return socket.client.host if socket.client else "?"


@websocket("/v1/interviews/{interview_id:str}/stream")
async def candidate_stream(
    socket: WebSocket[Any, Any, Any],
    interview_id: FromPath[str],
    store: NamedDependency[Store],
    live_interviews: NamedDependency[LiveInterviews],
    runtime: NamedDependency[Runtime],
    settings: NamedDependency[Settings],
    recordings: NamedDependency[Recordings],
    metrics: NamedDependency[Metrics],
    handshakes: NamedDependency[StreamHandshakes],
    token: FromQuery[str | None] = None,
) -> None:
    await socket.accept()
    conn = candidate_connection(WebSocketTransport(socket), interview_id, recordings, settings.max_message_bytes)
    if not await handshakes.allow(client_address(socket)):
        await conn.fail("rate_limited", handshakes.refusal(), CLOSE_POLICY)
        return
    row = await store.interview(interview_id)
    if not candidate_token_opens(store.vault, row, token, settings.candidate_token_days):
        await conn.fail("unauthorized", CANDIDATE_REFUSED)
        return
    assert row is not None
    if row.status in ENDED:
        await conn.fail("session_closed", f"this interview is {row.status}; it cannot be joined again")
        return
    stream = CandidateStream(conn, settings, runtime, recordings, metrics=metrics)
    await join_interview(stream, row, live_interviews)


@websocket("/v1/interviews/{interview_id:str}/observe")
async def observer_stream(
    socket: WebSocket[Any, Any, Any],
    interview_id: FromPath[str],
    store: NamedDependency[Store],
    bus: NamedDependency[Bus],
    live_interviews: NamedDependency[LiveInterviews],
    settings: NamedDependency[Settings],
    observer_tickets: NamedDependency[ObserverTickets],
    observer_seats: NamedDependency[ObserverSeats],
    handshakes: NamedDependency[StreamHandshakes],
    observer_comments: NamedDependency[Allowances],
    token: FromQuery[str | None] = None,
    ticket: FromQuery[str | None] = None,
) -> None:
    await socket.accept()
    conn = Connection(WebSocketTransport(socket, send_timeout_s=settings.observer_send_timeout_s))
    if not await handshakes.allow(client_address(socket)):
        await conn.fail("rate_limited", handshakes.refusal(), CLOSE_POLICY)
        return
    row = await store.interview(interview_id)
    if ticket is not None:
        holder = await observer_tickets.redeem(ticket, interview_id)
    else:
        holder = observer_author(store.vault, row, settings, token or bearer_key(socket))
    # The credential first: without one, an unknown id answers like a wrong credential (ids are not to be probed).
    if holder is None:
        await conn.fail(
            "unauthorized",
            "observe with ?ticket= from POST /v1/interviews/{id}/observer-ticket (used once, within "
            f"{settings.observer_ticket_ttl_s:.0f} s), ?token=<observer_token> or the HR API key (bearer or ?token=)",
            CLOSE_POLICY,
        )
        return
    if row is None:  # the HR key, or a ticket for an interview erased since
        await conn.fail("not_found", f"no interview with id {interview_id!r}", CLOSE_POLICY)
        return
    if not observer_seats.take(interview_id):
        await conn.fail(
            "rate_limited",
            f"this interview already has {settings.max_observers_per_interview} observers on this server, the limit; "
            "close another observer first",
            CLOSE_POLICY,
        )
        return
    try:
        await store.audit(holder.actor, "observer_joined", interview_id)
        stream = ObserverStream(
            conn,
            row,
            holder,
            store=store,
            bus=bus,
            live_interviews=live_interviews,
            settings=settings,
            comments=observer_comments,
        )
        with contextlib.suppress(LinkClosed):
            await stream.run()
    finally:
        observer_seats.release(interview_id)
        conn.open = False


class ObserverTicketOut(Struct):
    ticket: str  # open the observer stream with ?ticket=<ticket>; it works once
    expires_in: float  # seconds


@post(
    "/v1/interviews/{interview_id:str}/observer-ticket",
    status_code=HTTP_201_CREATED,
    tags=["stream"],
    responses=errors(401, 404),
)
async def observer_ticket(
    request: Request[Any, Any, Any],
    interview_id: FromPath[str],
    store: NamedDependency[Store],
    settings: NamedDependency[Settings],
    observer_tickets: NamedDependency[ObserverTickets],
) -> ObserverTicketOut:
    """A single-use ticket for the observer stream, for clients (pages) that cannot set headers on a WebSocket.

    Send an API key (any role: the interview must be of the key's jobs) or the interview's observer token as
    `Authorization: Bearer ...`; then open `/v1/interviews/{id}/observe?ticket=<ticket>` within `expires_in`
    seconds. No credential appears in a URL.
    """
    credential = bearer_key(request)
    row = await store.interview(interview_id)
    holder = OBSERVER_TOKEN_PASS if observer_token_opens(store.vault, row, credential) else None
    if holder is None:
        principal = await authenticator(request).optional(request)
        # With a key, an interview outside its jobs is as unknown as a missing one; without, an unknown id answers
        # like a wrong token: ids are not to be probed.
        if principal is not None and (row is None or not principal.sees(row.job_id)):
            raise not_found("interview", interview_id)
        holder = None if principal is None else observer_pass(principal)
    if holder is None:
        raise ApiError(
            HTTP_401_UNAUTHORIZED,
            "unauthorized",
            "send an API key or this interview's observer token as 'Authorization: Bearer <credential>'",
        )
    ticket = await observer_tickets.issue(interview_id, holder)
    return ObserverTicketOut(ticket=ticket, expires_in=settings.observer_ticket_ttl_s)


@post(
    "/v1/interviews/{interview_id:str}/rtc/offer",
    status_code=HTTP_200_OK,
    tags=["stream"],
    responses=errors(400, 401, 409),
)
async def rtc_offer(
    interview_id: FromPath[str],
    data: JSONBody[SessionDescription],
    store: NamedDependency[Store],
    live_interviews: NamedDependency[LiveInterviews],
    runtime: NamedDependency[Runtime],
    settings: NamedDependency[Settings],
    recordings: NamedDependency[Recordings],
    rtc_peers: NamedDependency[RtcPeers],
    metrics: NamedDependency[Metrics],
    token: FromQuery[str | None] = None,
) -> dict[str, str]:
    """Join an interview over WebRTC: an SDP offer (audio track, `events` data channel) in, the answer out."""
    row = await store.interview(interview_id)
    if not candidate_token_opens(store.vault, row, token, settings.candidate_token_days):
        raise ApiError(HTTP_401_UNAUTHORIZED, "unauthorized", CANDIDATE_REFUSED)
    assert row is not None
    if row.status in ENDED:
        raise conflict(f"this interview is {row.status}; it cannot be joined again")
    existing = rtc_peers.get(interview_id)
    if existing is not None and not existing.closed:
        raise conflict(
            "a WebRTC peer is already connected to this interview; close it first "
            f"(a vanished peer is let go after {settings.rtc_drop_timeout_s:.0f} s without media)"
        )
    pc = RTCPeerConnection(rtc_peers.configuration())
    peer: RtcPeer | None = None
    try:
        peer = RtcPeer(
            row,
            pc,
            settings=settings,
            runtime=runtime,
            recordings=recordings,
            live_interviews=live_interviews,
            on_closed=rtc_peers.forget,
            buckets=rtc_peers.buckets,
            metrics=metrics,
        )
        rtc_peers.add(peer)
        answer = await answer_offer(pc, data, video=row.mode == "video")
        peer.last_media = time.monotonic()  # the drop watch starts once the answer is out, not while ICE gathered
    except BaseException:
        if peer is not None:
            await peer.close("the offer was refused")
        else:
            await pc.close()
        raise
    return {"sdp": answer.sdp, "type": answer.type}
