"""Rate limits: REST calls per client address (Litestar's RateLimitConfig, its counters in Redis when configured),
stream text frames per token (a token bucket in front of the candidate and observer WebSockets), stream handshakes
per client address (`StreamHandshakes`) and observers' comments per person and interview, both `Allowances` shared
by every node through Redis when configured, and a candidate connection's audio (a token bucket over seconds of
audio, `AudioBucket`).

Over the limit, REST answers 429 `rate_limited` JSON; a stream frame is dropped with a `rate_limited` error and
the session goes on; a handshake is accepted only to be answered `rate_limited` and closed (1008).
"""

from __future__ import annotations

import hashlib
import logging
import time
from abc import ABC, abstractmethod
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


class RedisOutage:
    """While Redis fails, its callers count in process memory instead, so an outage never turns a limit into an
    error or a lockout (limits are then per process until it returns). One warning when it goes, one when it is back."""

    RETRY_AFTER_S = 5.0  # while failing, Redis is tried again only this often: each try may wait a connect timeout

    def __init__(self) -> None:
        self.failing = False
        self._failed_at = 0.0

    def waiting(self) -> bool:
        """Whether to skip Redis for now: it failed less than RETRY_AFTER_S ago."""
        return self.failing and time.monotonic() - self._failed_at < self.RETRY_AFTER_S

    def failed(self, exc: Exception) -> None:
        if not self.failing:
            log.warning("rate limits: Redis is unavailable (%s); counting in this process meanwhile", exc)
        self.failing = True
        self._failed_at = time.monotonic()

    def answered(self) -> None:
        if self.failing:
            log.warning("rate limits: Redis is back")
            self.failing = False


class FailOpenStore(Store):
    """A Redis store that falls back to process memory while Redis is away: a Redis outage must not turn
    every REST call into a 500."""

    def __init__(self, primary: Store) -> None:
        self.primary = primary
        self.fallback = MemoryStore()
        self.outage = RedisOutage()

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.outage.waiting():
            return await getattr(self.fallback, name)(*args, **kwargs)
        try:
            result = await getattr(self.primary, name)(*args, **kwargs)
        except (RedisError, OSError) as exc:
            self.outage.failed(exc)
            return await getattr(self.fallback, name)(*args, **kwargs)
        self.outage.answered()
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


class Allowances(ABC):
    """One allowance per key: `burst` takes at once, refilled at `per_minute` (the rate and burst are the
    implementation's, given when it is made). A refused take costs nothing. An ABC, not a Protocol: Litestar checks
    a dependency it injects with isinstance."""

    @abstractmethod
    async def take(self, key: str) -> bool: ...


class MemoryAllowances(Allowances):
    """Counted in this process: a single node's limits, or every node's while Redis is away."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self.buckets = TokenBuckets(per_minute, burst)

    async def take(self, key: str) -> bool:
        return self.buckets.allow(key)


# A token bucket rather than INCR+EXPIRE windows: it means what the settings and the memory buckets mean (a burst,
# then a steady refill), where a fixed window lets twice the burst through across its edge. One script is atomic
# in Redis, so takes from every node are counted one after the other; the clock is Redis's own (TIME), as nodes'
# clocks may disagree. The key expires once the bucket would be full again: idle keys cost Redis nothing.
TOKEN_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return taken
"""


class RedisAllowances(Allowances):
    """Counted in Redis, under `namespace`: every node sharing that Redis draws from the same allowance of a key,
    so several nodes together let through what one would. While Redis fails, counted in this process
    (`RedisOutage`)."""

    def __init__(self, redis: Redis, namespace: str, per_minute: int, burst: int) -> None:
        self.namespace = namespace
        self.rate = per_minute / 60.0
        self.burst = burst
        self._script = redis.register_script(TOKEN_BUCKET_LUA)
        self.fallback = MemoryAllowances(per_minute, burst)
        self.outage = RedisOutage()

    def redis_key(self, key: str) -> str:
        # Hashed: a key names an interview and a person, or a client's address, and Redis must hold no such string
        # (an erasure scans it for the candidate's ids); the allowance still counts per key.
        return f"{self.namespace}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"

    async def take(self, key: str) -> bool:
        if self.outage.waiting():
            return await self.fallback.take(key)
        try:
            taken = await self._script(keys=[self.redis_key(key)], args=[self.rate, self.burst])
        except (RedisError, OSError) as exc:
            self.outage.failed(exc)
            return await self.fallback.take(key)
        self.outage.answered()
        return bool(taken)


def limits_redis(settings: Settings) -> Redis | None:
    """The Redis client of the shared allowances, None without Redis; its owner closes it."""
    if not settings.redis_url:
        return None
    return Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)


def allowances(settings: Settings, redis: Redis | None, name: str, per_minute: int, burst: int) -> Allowances:
    if redis is None:
        return MemoryAllowances(per_minute, burst)
    return RedisAllowances(redis, f"{settings.redis_prefix}_limits:{name}", per_minute, burst)


class StreamHandshakes:
    """WebSocket handshakes per client address, one allowance for the candidate and observer streams together: every
    handshake costs a database read and an interview's replay, so a script opening sockets in a loop is refused
    before either, while a client reconnecting after network trouble stays well within the burst."""

    def __init__(self, allowances: Allowances, per_minute: int) -> None:
        self.allowances = allowances
        self.per_minute = per_minute

    async def allow(self, client: str) -> bool:
        return await self.allowances.take(client)

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
