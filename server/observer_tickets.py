"""Observer tickets: short-lived, single-use passes to open one interview's observer stream, so that a page never
puts the HR API key (or an observer token) in a WebSocket URL, where proxies and access logs keep it.

A ticket is issued over REST with the credential in a header; only its hash is stored, in the app's store for
tickets (Redis when configured, so any node can redeem it), and it expires after a few seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets

import msgspec
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis

from server.ratelimit import FailOpenStore
from server.settings import Settings

OBSERVER_TICKET_STORE = "observer_tickets"


class ObserverPass(msgspec.Struct):
    """Who a ticket lets in."""

    author: str  # what their comments are signed: "hr", "reviewer" or "observer"
    actor: str  # the audit log's name for them (server/people.py), "observer" by the interview's observer token


class _Pass(msgspec.Struct):
    interview_id: str
    holder: ObserverPass


def ticket_store(settings: Settings) -> Store:
    if not settings.redis_url:
        return MemoryStore()
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    return FailOpenStore(RedisStore(redis, namespace=f"{settings.redis_prefix}_tickets", handle_client_shutdown=True))


def _key(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


class ObserverTickets:
    def __init__(self, store: Store, ttl_s: float) -> None:
        self.store = store
        self.ttl_s = ttl_s
        # Get-then-delete is two calls: one redemption at a time in this process keeps a ticket single-use here.
        self._redeeming = asyncio.Lock()

    async def issue(self, interview_id: str, holder: ObserverPass) -> str:
        ticket = secrets.token_urlsafe(24)
        expires = max(1, round(self.ttl_s))
        await self.store.set(_key(ticket), msgspec.json.encode(_Pass(interview_id, holder)), expires_in=expires)
        return ticket

    async def redeem(self, ticket: str, interview_id: str) -> ObserverPass | None:
        """Whom the ticket was issued for, once; None if it is unknown, expired, used, or for another interview."""
        key = _key(ticket)
        async with self._redeeming:
            raw = await self.store.get(key)
            if raw is None:
                return None
            await self.store.delete(key)
        try:
            issued = msgspec.json.decode(raw, type=_Pass)
        except msgspec.DecodeError:
            return None
        return issued.holder if issued.interview_id == interview_id else None
