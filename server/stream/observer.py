"""The observer stream (PROTOCOL.md section 3): replay an interview's channel, then follow it live; take comments.

Each event reaches an observer once and in order: subscribe first, then read history, and drop by `seq` what both
returned; a stuck observer is dropped after a send timeout instead of holding events or the session back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import msgspec
from litestar.channels import Subscriber

from server.auth import is_hr_key
from server.bus import Bus, BusUnavailable, channel_name
from server.db.store import Store
from server.db.tables import InterviewRow
from server.interview_tokens import observer_token_opens
from server.observer_tickets import ObserverPass
from server.people import BOOTSTRAP_ADMIN, RECRUITING, Principal
from server.ratelimit import Allowances
from server.settings import Settings
from server.stream.messages import (
    BadMessage,
    CommentMsg,
    CommentOut,
    EventHead,
    Ping,
    Pong,
    decode_observer,
    encode,
)
from server.stream.registry import LiveInterviews
from server.stream.transport import CLOSE_POLICY, Connection, LinkClosed
from server.token_vault import TokenVault

log = logging.getLogger(__name__)

_head = msgspec.json.Decoder(EventHead)


class ObserverFeed:
    """Delivers an interview's events to one observer: history, then live, each event once, in `seq` order."""

    def __init__(self, conn: Connection, bus: Bus, interview_id: str) -> None:
        self.conn = conn
        self.bus = bus
        self.interview_id = interview_id
        self.last_seq = 0
        self._comments: set[int] = set()
        self.sent = 0

    async def replay(self) -> None:
        """Every event so far; raises BusUnavailable when the history cannot be read."""
        for raw in await self.bus.history(self.interview_id):
            await self.deliver(raw, refill=False)

    async def follow(self, subscriber: Subscriber) -> None:
        async for raw in subscriber.iter_events():
            await self.deliver(raw)

    async def deliver(self, raw: bytes, *, refill: bool = True) -> None:
        try:
            head = _head.decode(raw)
        except msgspec.DecodeError:
            head = EventHead()
        if head.seq:
            if head.seq <= self.last_seq:
                return  # already sent: the history/live seam, or a re-read after a Redis outage
            if refill and self.last_seq and head.seq > self.last_seq + 1:
                # Events in between were dropped from this observer's backlog while it was slow; history has them.
                await self._refill(self.last_seq, head.seq)
            self.last_seq = head.seq
        elif head.type == "comment" and head.comment_id:
            if head.comment_id in self._comments:
                return
            self._comments.add(head.comment_id)
        await self.conn.send_text(raw.decode())
        self.sent += 1

    async def _refill(self, after: int, before: int) -> None:
        try:
            history = await self.bus.history(self.interview_id)
        except BusUnavailable as exc:
            log.info("interview %s: observer gap %d..%d not refilled: %s", self.interview_id, after, before, exc)
            return
        for raw in history:
            head = _head.decode(raw)
            if after < head.seq < before:
                await self.conn.send_text(raw.decode())
                self.sent += 1


class ObserverSeats:
    """Observer connections per interview on this node, at most `per_interview` each: watching is cheap, but every
    observer holds a subscription and a replay of the whole interview."""

    def __init__(self, per_interview: int) -> None:
        self.per_interview = per_interview
        self._taken: dict[str, int] = {}

    def take(self, interview_id: str) -> bool:
        taken = self._taken.get(interview_id, 0)
        if taken >= self.per_interview:
            return False
        self._taken[interview_id] = taken + 1
        return True

    def release(self, interview_id: str) -> None:
        left = self._taken.get(interview_id, 0) - 1
        if left > 0:
            self._taken[interview_id] = left
        else:
            self._taken.pop(interview_id, None)


OBSERVER_TOKEN_PASS = ObserverPass("observer", "observer")  # the interview's observer token names nobody


def observer_author(
    vault: TokenVault, row: InterviewRow | None, settings: Settings, token: str | None
) -> ObserverPass | None:
    """Who is watching by a credential in the WebSocket request: the interview's observer token (while it is
    scheduled or live), or the bootstrap admin's key (users' keys get a ticket first); None if neither."""
    if observer_token_opens(vault, row, token):
        return OBSERVER_TOKEN_PASS
    if is_hr_key(settings, token):
        return ObserverPass("hr", BOOTSTRAP_ADMIN.actor)
    return None


def observer_pass(principal: Principal) -> ObserverPass:
    """A user's comments are signed by their role ("hr" for admins and recruiters, as the settings' key's are)."""
    author = "hr" if principal.role in RECRUITING else str(principal.role)
    return ObserverPass(author, principal.actor)


def _session_clock(row: InterviewRow, live_interviews: LiveInterviews) -> float:
    live = live_interviews.get(row.id)
    if live is not None:
        return live.clock()
    if row.started_at is None:
        return 0.0
    return round(max(0.0, (datetime.now(UTC) - row.started_at).total_seconds()), 3)


class ObserverStream:
    """One observer connection: the feed in a background task, the receive loop (comments, pings) in front."""

    def __init__(
        self,
        conn: Connection,
        row: InterviewRow,
        holder: ObserverPass,
        *,
        store: Store,
        bus: Bus,
        live_interviews: LiveInterviews,
        settings: Settings,
        comments: Allowances,
    ) -> None:
        self.conn = conn
        self.row = row
        self.author = holder.author
        self.actor = holder.actor
        self.store = store
        self.bus = bus
        self.live_interviews = live_interviews
        self.settings = settings
        # Apart from the frames limit: every comment is a stored row, an audit entry and an event every observer of
        # the interview receives. One allowance per person and interview, not per connection, so that reconnecting
        # (to this node or another) does not refill it; everyone by the interview's observer token is one person.
        self.comments = comments
        self.comments_key = f"{row.id}:{holder.actor}"

    async def receive(self) -> str | None:
        """The next text frame, or None for a binary one; LinkClosed once the observer has gone."""
        frame = await self.conn.receive()
        return frame if isinstance(frame, str) else None

    async def run(self) -> None:
        feed = ObserverFeed(self.conn, self.bus, self.row.id)
        subscriber = await self.bus.subscribe(self.row.id)
        try:
            try:
                await feed.replay()
            except BusUnavailable as exc:
                await self.conn.fail("internal", f"live events are unavailable right now ({exc}); reconnect shortly")
                return
            except LinkClosed as exc:
                log.info(
                    "interview %s: observer dropped during replay after %d events: %s", self.row.id, feed.sent, exc
                )
                await self.conn.close("too slow: the observer stopped reading", CLOSE_POLICY)
                return
            # Whichever ends first ends the connection: the peer leaving, or the feed dropping a stuck peer
            # (whose receive would otherwise wait forever, keeping its backlog alive).
            tasks = {asyncio.create_task(self._follow(feed, subscriber)), asyncio.create_task(self._receive())}
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, LinkClosed):
                    await task
            for task in done:
                failure = task.exception()
                if failure is not None and not isinstance(failure, LinkClosed):
                    raise failure
        finally:
            await self.bus.unsubscribe(self.row.id, subscriber)

    async def _receive(self) -> None:
        while self.conn.open:
            await self._handle(await self.receive())

    async def _follow(self, feed: ObserverFeed, subscriber: Subscriber) -> None:
        try:
            await feed.follow(subscriber)
        except LinkClosed as exc:
            log.info("interview %s: observer dropped after %d events: %s", self.row.id, feed.sent, exc)
            await self.conn.close("too slow: the observer stopped reading", CLOSE_POLICY)

    async def _handle(self, frame: str | None) -> None:
        if frame is None:
            await self.conn.error("bad_message", "observers send JSON text frames only, not binary")
            return
        if len(frame.encode()) > self.settings.max_message_bytes:
            await self.conn.error("too_large", f"the message is larger than {self.settings.max_message_bytes} bytes")
            return
        try:
            message = decode_observer(frame)
        except BadMessage as exc:
            await self.conn.error(exc.code, str(exc))
            return
        match message:
            case Ping():
                await self.conn.send(Pong())
            case CommentMsg(text=text):
                await self._comment(text)

    async def _comment(self, text: str) -> None:
        text = text.strip()
        if not text:
            await self.conn.error("bad_message", "the comment is empty")
            return
        if len(text) > self.settings.max_text_chars:
            await self.conn.error(
                "too_large", f"the comment is {len(text)} characters; the limit is {self.settings.max_text_chars}"
            )
            return
        if not await self.comments.take(self.comments_key):
            await self.conn.error(
                "rate_limited",
                f"more than {self.settings.observer_comments_per_minute} comments a minute; this one was not kept, "
                "send it again in a few seconds",
            )
            return
        row = await self.store.add_comment(self.row.id, self.author, text)
        await self.store.audit(self.actor, "comment_added", self.row.id, comment_id=row.id)
        comment = CommentOut(
            author=self.author, text=text, comment_id=row.id, t=_session_clock(self.row, self.live_interviews)
        )
        # Through the channel, not to sockets here: observers on every node see it, the candidate never does.
        self.bus.plugin.publish(encode(comment).encode(), channel_name(self.row.id))
