"""Rate limits: REST calls per client address (Litestar's RateLimitConfig, its counters in Redis when configured),
stream text frames per token (a token bucket in front of the candidate and observer WebSockets), stream handshakes
per client address (`StreamHandshakes`), and a candidate connection's audio (a token bucket over seconds of audio,
`AudioBucket`).

Over the limit, REST answers 429 `rate_limited` JSON; a stream frame is dropped with a `rate_limited` error and
the session goes on; a handshake is accepted only to be answered `rate_limited` and closed (1008).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send, WebSocketSendEvent
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.settings import Settings
from server.stream.messages import ErrorOut, encode

log = logging.getLogger(__name__)

RATE_LIMIT_STORE = "rate_limit"
# Buckets of tokens not seen for a while are forgotten first once there are this many: memory stays bounded.
MAX_BUCKETS = 100_000
# Candidate audio. A microphone makes one second of audio a second; a client may send up to twice that (catching
# up after a hiccup) plus a burst of AUDIO_BURST_S at once (a network stall of that long, delivered together).
# Beyond it a client is flooding: its frames would cost VAD and ASR time that other sessions on the node need.
# Constants, not settings: no real client needs more, and tests play their audio at 2x at most.
AUDIO_REAL_TIME_FACTOR = 2.0
AUDIO_BURST_S = 5.0


class FailOpenStore(Store):
    """A Redis store that falls back to process memory while Redis is away: a Redis outage must not turn
    every REST call into a 500 (limits are then per process until it returns)."""

    RETRY_AFTER_S = 5.0  # while failing, Redis is tried again only this often: each try may wait a connect timeout

    def __init__(self, primary: Store) -> None:
        self.primary = primary
        self.fallback = MemoryStore()
        self.failing = False
        self._failed_at = 0.0

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.failing and time.monotonic() - self._failed_at < self.RETRY_AFTER_S:
            return await getattr(self.fallback, name)(*args, **kwargs)
        try:
            result = await getattr(self.primary, name)(*args, **kwargs)
        except (RedisError, OSError) as exc:
            if not self.failing:
                log.warning("rate limits: Redis is unavailable (%s); counting in this process meanwhile", exc)
            self.failing = True
            self._failed_at = time.monotonic()
            return await getattr(self.fallback, name)(*args, **kwargs)
        if self.failing:
            log.warning("rate limits: Redis is back")
            self.failing = False
        return result

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        await self._call("set", key, value, expires_in)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        result: bytes | None = await self._call("get", key, renew_for)
        return result

    async def delete(self, key: str) -> None:
        await self._call("delete", key)

    async def delete_all(self) -> None:
        await self._call("delete_all")

    async def exists(self, key: str) -> bool:
        return bool(await self._call("exists", key))

    async def expires_in(self, key: str) -> int | None:
        result: int | None = await self._call("expires_in", key)
        return result


def rate_limit_store(settings: Settings) -> Store:
    if not settings.redis_url:
        return MemoryStore()
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    return FailOpenStore(RedisStore(redis, namespace=f"{settings.redis_prefix}_ratelimit", handle_client_shutdown=True))


def rest_rate_limit(settings: Settings) -> RateLimitConfig:
    """Per client address; health checks and the schema are exempt (load balancers poll them)."""
    return RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        exclude=["^/health$", "^/schema"],
        store=RATE_LIMIT_STORE,
    )


class TokenBuckets:
    """`burst` frames at once, refilled at `per_minute`; one bucket per key, the least recent forgotten first."""

    def __init__(self, per_minute: int, burst: int, max_keys: int = MAX_BUCKETS) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return allowed

    def has(self, key: str, now: float | None = None) -> bool:
        """Whether `allow` would let one through now; nothing is taken."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate) >= 1.0

    def __len__(self) -> int:
        return len(self._buckets)


class StreamHandshakes:
    """WebSocket handshakes per client address, one bucket for the candidate and observer streams together: every
    handshake costs a database read and an interview's replay, so a script opening sockets in a loop is refused
    before either, while a client reconnecting after network trouble stays well within the burst."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self.per_minute = per_minute
        self.buckets = TokenBuckets(per_minute, burst)

    def allow(self, client: str) -> bool:
        return self.buckets.allow(client)

    def refusal(self) -> str:
        return (
            f"more than {self.per_minute} stream connections a minute from this address; wait a few seconds and "
            "connect again"
        )


class AudioBucket:
    """One connection's audio allowance, in seconds of audio: `burst_s` at once, refilled at `rate` seconds of
    audio per second of wall time. A frame is taken whole or refused whole."""

    def __init__(
        self, rate: float = AUDIO_REAL_TIME_FACTOR, burst_s: float = AUDIO_BURST_S, now: float | None = None
    ) -> None:
        self.rate = rate
        self.burst_s = burst_s
        self._tokens = burst_s
        self._last = time.monotonic() if now is None else now

    def take(self, seconds: float, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self._tokens = min(self.burst_s, self._tokens + max(0.0, now - self._last) * self.rate)
        self._last = now
        if self._tokens < seconds:
            return False
        self._tokens -= seconds
        return True


def stream_key(scope: Scope) -> str:
    """The token a stream connection authenticates with (query or bearer), hashed; the client address otherwise."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    token = (query.get("token") or [""])[0]
    if not token:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, rest = value.decode("latin-1").partition(" ")
                token = rest.strip() if scheme.lower() == "bearer" else ""
    if token:
        return "token:" + hashlib.sha256(token.encode()).hexdigest()[:24]
    client = scope.get("client")
    return f"client:{client[0] if client else '?'}"


class StreamRateLimitMiddleware(ASGIMiddleware):
    """Counts the text frames each token sends on a WebSocket; over the limit a frame is answered with a
    `rate_limited` error instead of reaching the handler. Binary frames (audio) are counted by their duration
    on the candidate stream, which knows their format (`AudioBucket`)."""

    scopes = (ScopeType.WEBSOCKET,)

    def __init__(self, buckets: TokenBuckets) -> None:
        self.buckets = buckets

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        key = stream_key(scope)

        async def limited_receive() -> ReceiveMessage:
            while True:
                message = await receive()
                if message["type"] != "websocket.receive" or message.get("text") is None:
                    return message
                if self.buckets.allow(key):
                    return message
                error = ErrorOut(
                    code="rate_limited",
                    message=f"more than {self.buckets.rate * 60:.0f} messages a minute; this one was dropped, "
                    "slow down and send it again",
                )
                reply: WebSocketSendEvent = {"type": "websocket.send", "text": encode(error), "bytes": None}
                await send(reply)

        await next_app(scope, limited_receive, send)
