"""The event bus: Litestar Channels, one channel per interview with history, in memory or on Redis.

Observers on any node replay a channel's history, then follow it; a Redis outage degrades the bus (events wait
in a bounded buffer and are published when Redis returns) instead of stopping the sessions that emit them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Iterable
from typing import Any

from litestar.channels import ChannelsBackend, ChannelsPlugin, Subscriber
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.settings import Settings

log = logging.getLogger(__name__)

# An observer that stops reading loses the oldest unsent live events instead of growing memory without bound;
# the observer endpoint notices the gap in `seq` and refills it from the channel's history.
SUBSCRIBER_BACKLOG = 5_000
# How long one XREAD blocks: only a channel newly subscribed on this node waits up to this long for its first
# live event (its history is read directly); channels already followed get each event as soon as it lands.
REDIS_BLOCK_MS = 250
REDIS_RETRY_S = 1.0

# Failures that mean "Redis is not there right now", as opposed to bugs.
BUS_DOWN_ERRORS = (RedisError, OSError)


def channel_name(interview_id: str) -> str:
    return f"interview:{interview_id}"


class BusUnavailable(RuntimeError):
    """The bus cannot serve history right now (Redis is down); the caller should retry shortly."""


class InterviewMemoryBackend(ChannelsBackend):
    """The in-process backend with Redis-stream semantics: history outlives subscribers, expires when idle.

    Written on Litestar's public `ChannelsBackend` contract rather than by overriding its memory backend, whose
    history is dropped when a channel's last subscriber leaves (a second observer would then miss the start of
    the interview) and never dropped for a channel nobody subscribes to (memory would grow with every interview
    ever held): here history is kept until the channel has been idle for `ttl_s`.
    """

    SWEEP_EVERY_S = 60.0

    def __init__(self, history: int, ttl_s: float) -> None:
        self._history_size = history
        self._ttl_s = ttl_s
        self._subscribed: set[str] = set()
        self._queue: asyncio.Queue[tuple[str, bytes]] | None = None
        self._history: dict[str, deque[bytes]] = {}
        self._touched: dict[str, float] = {}
        self._swept = time.monotonic()

    async def on_startup(self) -> None:
        self._queue = asyncio.Queue()

    async def on_shutdown(self) -> None:
        self._queue = None

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        if self._queue is None:
            raise RuntimeError("the memory bus backend is not started (on_startup was not called)")
        now = time.monotonic()
        for channel in channels:
            self._touched[channel] = now
            if self._history_size:
                self._history.setdefault(channel, deque(maxlen=self._history_size)).append(data)
            if channel in self._subscribed:
                self._queue.put_nowait((channel, data))
        if now - self._swept > min(self.SWEEP_EVERY_S, self._ttl_s):
            self._expire(now)

    async def subscribe(self, channels: Iterable[str]) -> None:
        self._subscribed.update(channels)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        self._subscribed.difference_update(channels)  # the history stays until the channel is idle

    async def stream_events(self) -> AsyncGenerator[tuple[str, bytes], None]:
        if self._queue is None:
            raise RuntimeError("the memory bus backend is not started (on_startup was not called)")
        queue = self._queue
        while True:
            channel, data = await queue.get()
            # Published while subscribed, unsubscribed before it was read: nobody here wants it any more.
            if channel in self._subscribed:
                yield channel, data

    async def get_history(self, channel: str, limit: int | None = None) -> list[bytes]:
        history = list(self._history.get(channel, ()))
        return history[-limit:] if limit else history

    async def forget(self, channel: str) -> None:
        """Drop the channel's history now (its interview's candidate was erased)."""
        self._history.pop(channel, None)
        self._touched.pop(channel, None)

    def _expire(self, now: float) -> None:
        self._swept = now
        for channel, touched in list(self._touched.items()):
            if now - touched > self._ttl_s:
                del self._touched[channel]
                self._history.pop(channel, None)

    def health(self) -> dict[str, Any]:
        return {"backend": "memory", "ok": True}


def _stream_id(raw: bytes | str) -> tuple[int, int]:
    ms, _, seq = (raw.decode() if isinstance(raw, bytes) else raw).partition("-")
    return int(ms), int(seq or 0)


class ResilientRedisStreamBackend(ChannelsBackend):
    """A Redis streams backend (one capped stream per channel, as Litestar's own, with the same keys) that
    survives Redis going away and joins history and live exactly. Written on the public `ChannelsBackend`
    contract: Litestar's `RedisChannelsStreamBackend` would have to be changed through its private attributes.

    - publish never raises: while Redis is down, events wait in order in a bounded buffer and are published
      when it returns (Litestar's publisher task would otherwise die on the first error and every later event
      would pile up in its unbounded queue);
    - the reader keeps its stream positions across errors and retries, so observers resume where they were;
    - a channel newly subscribed on this node is read from the stream's end at subscription time (the parent
      stream backend reads it from the beginning, replaying the whole interview as if it were live), so `subscribe, then read
      history` covers every event exactly once up to `seq` de-duplication at the seam.
    """

    def __init__(
        self,
        *,
        redis: Redis,
        reader: Redis | None = None,
        history: int,
        ttl_s: float,
        key_prefix: str,
        held_max: int,
        block_ms: int = REDIS_BLOCK_MS,
        retry_s: float = REDIS_RETRY_S,
    ) -> None:
        self._redis = redis
        self._reader = reader or redis
        self._history_size = history
        self._ttl_ms = int(ttl_s * 1000)
        self._key_prefix = key_prefix
        self._block_ms = block_ms
        self._retry_s = retry_s
        self._subscribed: set[str] = set()
        self._has_subscribed = asyncio.Event()
        self._held: deque[tuple[bytes, list[str]]] = deque()
        self._held_max = held_max
        self._positions: dict[str, tuple[int, int]] = {}
        self._recovery: asyncio.Task[None] | None = None
        self.error: str | None = None
        self.down_since: float | None = None
        self.dropped = 0

    # --- health -------------------------------------------------------------------------------------------

    def _down(self, exc: BaseException) -> None:
        if self.error is None:
            self.down_since = time.time()
            log.warning(
                "event bus: Redis is unavailable (%s); sessions go on, their events wait here (up to %d) "
                "until it returns",
                exc,
                self._held_max,
            )
        self.error = f"{type(exc).__name__}: {exc}"
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(self._recover())

    async def _recover(self) -> None:
        while True:
            await asyncio.sleep(self._retry_s)
            try:
                await self._redis.ping()
                sent = 0
                while self._held:
                    data, channels = self._held[0]
                    await self._append(data, channels)
                    self._held.popleft()
                    sent += 1
            except BUS_DOWN_ERRORS as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                continue
            # No await between the last publish and here: nothing can be held in between and be forgotten.
            log.warning(
                "event bus: Redis is back after %.1f s; %d held events published, %d dropped",
                time.time() - (self.down_since or time.time()),
                sent,
                self.dropped,
            )
            self.error = None
            self.down_since = None
            return

    def health(self) -> dict[str, Any]:
        return {
            "backend": "redis",
            "ok": self.error is None,
            "error": self.error,
            "down_since": self.down_since,
            "held_events": len(self._held),
            "dropped_events": self.dropped,
        }

    # --- publish ------------------------------------------------------------------------------------------

    def _key(self, channel: str) -> str:
        return f"{self._key_prefix}_{channel.upper()}"  # Litestar's stream backend's keys: either reads the other's

    async def _append(self, data: bytes, channels: list[str]) -> None:
        """Add the event to each channel's stream (capped at the history size) and renew the streams' expiry."""
        async with self._redis.pipeline(transaction=True) as pipe:
            for channel in channels:
                key = self._key(channel)
                pipe.xadd(key, {"data": data, "channel": channel}, maxlen=self._history_size, approximate=True)
                pipe.pexpire(key, self._ttl_ms)
            await pipe.execute()

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        channels = list(channels)
        if self.error is None and not self._held:
            try:
                await self._append(data, channels)
                return
            except BUS_DOWN_ERRORS as exc:
                self._down(exc)
        if len(self._held) >= self._held_max:
            self._held.popleft()
            if self.dropped == 0:
                log.error(
                    "event bus: more than %d events held while Redis is down; dropping the oldest", self._held_max
                )
            self.dropped += 1
        self._held.append((data, channels))

    # --- subscribe and read ---------------------------------------------------------------------------------

    async def on_startup(self) -> None:
        """Nothing to open: the Redis clients connect on first use."""

    async def subscribe(self, channels: Iterable[str]) -> None:
        channels = set(channels)
        for channel in channels - self._subscribed:
            key = self._key(channel)
            try:
                last = await self._redis.xrevrange(key, count=1)
            except BUS_DOWN_ERRORS as exc:
                # Not knowing where the stream ends, read it from the start: duplicates are dropped by `seq`.
                self._down(exc)
                last = []
            self._positions[key] = _stream_id(last[0][0]) if last else (0, 0)
        self._subscribed.update(channels)
        self._has_subscribed.set()

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        self._subscribed.difference_update(channels)
        if not self._subscribed:
            self._has_subscribed.clear()

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        while True:
            await self._has_subscribed.wait()  # XREAD takes at least one stream
            streams = {
                (key := self._key(c)): "%d-%d" % self._positions.get(key, (0, 0))  # noqa: UP031
                for c in self._subscribed
            }
            if not streams:  # all unsubscribed between the wake-up and now
                continue
            try:
                data = await self._reader.xread(streams, block=self._block_ms)  # type: ignore[arg-type]
            except BUS_DOWN_ERRORS as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # redis-py turns a cancelled read into a connection error: this is a shutdown, not an outage
                self._down(exc)
                await asyncio.sleep(self._retry_s)
                continue
            for stream_key, events in data or []:
                key = stream_key.decode()
                for event_id, fields in events:
                    position = _stream_id(event_id)
                    # A channel re-subscribed while this read was in flight has moved on; do not go back.
                    if position <= self._positions.get(key, (0, 0)):
                        continue
                    self._positions[key] = position
                    yield fields[b"channel"].decode(), fields[b"data"]

    async def get_history(self, channel: str, limit: int | None = None) -> list[bytes]:
        key = self._key(channel)
        try:
            if limit:
                events = list(reversed(await self._redis.xrevrange(key, count=limit)))
            else:
                events = await self._redis.xrange(key)
        except BUS_DOWN_ERRORS as exc:
            self._down(exc)
            raise BusUnavailable(f"the event bus (Redis) is unavailable: {exc}") from exc
        return [fields[b"data"] for _, fields in events]

    async def forget(self, channel: str) -> None:
        """Delete the channel's stream and any of its events held here (its interview's candidate was erased)."""
        try:
            await self._redis.delete(self._key(channel))
        except BUS_DOWN_ERRORS as exc:
            self._down(exc)
            raise BusUnavailable(f"the event bus (Redis) is unavailable: {exc}") from exc
        # Only once the stream is gone: an erase that fails here leaves the history whole.
        self._held = deque((data, channels) for data, channels in self._held if channel not in channels)

    async def on_shutdown(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovery
        await self._redis.aclose()
        if self._reader is not self._redis:
            await self._reader.aclose()


BusBackend = InterviewMemoryBackend | ResilientRedisStreamBackend


class Bus:
    """The channels plugin with its backend, so history and health can be asked for by interview.

    A plain class, not a dataclass: Litestar would try to validate a dataclass dependency field by field.
    """

    def __init__(self, plugin: ChannelsPlugin, backend: BusBackend) -> None:
        self.plugin = plugin
        self.backend = backend
        self._subscribers: dict[str, set[Subscriber]] = {}

    async def subscribe(self, interview_id: str) -> Subscriber:
        """A subscriber to the interview's live events; pair with `unsubscribe`."""
        subscriber = await self.plugin.subscribe(channel_name(interview_id))
        self._subscribers.setdefault(interview_id, set()).add(subscriber)
        return subscriber

    async def unsubscribe(self, interview_id: str, subscriber: Subscriber) -> None:
        followers = self._subscribers.get(interview_id, set())
        followers.discard(subscriber)
        if not followers:
            self._subscribers.pop(interview_id, None)
        await self.plugin.unsubscribe(subscriber, channel_name(interview_id))

    async def history(self, interview_id: str) -> list[bytes]:
        """Every event of the interview still held, oldest first; BusUnavailable while Redis is down."""
        return await self.backend.get_history(channel_name(interview_id))

    async def forget(self, interview_id: str) -> None:
        """Drop every event of the interview still held; BusUnavailable while Redis is down."""
        await self.backend.forget(channel_name(interview_id))

    def health(self) -> dict[str, Any]:
        return self.backend.health()

    def subscribers(self, interview_id: str) -> int:
        """Observers of the interview following it through this node (the plugin keeps no public count)."""
        return len(self._subscribers.get(interview_id, ()))

    def backlog(self, interview_id: str) -> int:
        """The most events waiting for any one of this node's observers of the interview."""
        return max((s.qsize for s in self._subscribers.get(interview_id, ())), default=0)


def make_backend(settings: Settings) -> BusBackend:
    if settings.redis_url:
        # Timeouts bound how long a dead Redis can hold up the publisher. The reader has no read timeout: redis-py
        # can hang when a read with a timeout is cancelled (as the plugin does at shutdown), and its XREAD blocks
        # only briefly anyway; keep-alive notices a peer that vanished.
        redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
        reader = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_keepalive=True)
        return ResilientRedisStreamBackend(
            redis=redis,
            reader=reader,
            history=settings.bus_history,
            ttl_s=settings.bus_history_ttl_s,
            key_prefix=f"{settings.redis_prefix}_bus",
            held_max=settings.bus_held_max,
        )
    return InterviewMemoryBackend(history=settings.bus_history, ttl_s=settings.bus_history_ttl_s)


def make_bus(settings: Settings) -> Bus:
    backend = make_backend(settings)
    plugin = ChannelsPlugin(
        backend=backend,
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=SUBSCRIBER_BACKLOG,
        subscriber_backlog_strategy="dropleft",
    )
    return Bus(plugin, backend)
