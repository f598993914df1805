"""The event bus: Litestar Channels, one channel per interview with history, in memory or on Redis.

Every event a session emits is published here so observers on any node replay it, then follow it.
"""

from __future__ import annotations

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend

from server.settings import Settings

# Enough for a long interview: each partial transcript is an event, and observers replay all of them.
HISTORY = 20_000
# An observer that stops reading loses the oldest unsent events instead of growing memory without bound.
SUBSCRIBER_BACKLOG = 5_000


def channel_name(interview_id: str) -> str:
    return f"interview:{interview_id}"


def make_backend(settings: Settings) -> ChannelsBackend:
    if settings.redis_url:
        from litestar.channels.backends.redis import RedisChannelsStreamBackend
        from redis.asyncio import Redis

        redis = Redis.from_url(settings.redis_url)
        return RedisChannelsStreamBackend(
            history=HISTORY, redis=redis, key_prefix="shanmian", cap_streams_approximate=True
        )
    return MemoryChannelsBackend(history=HISTORY)


def make_channels(settings: Settings) -> ChannelsPlugin:
    return ChannelsPlugin(
        backend=make_backend(settings),
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=SUBSCRIBER_BACKLOG,
        subscriber_backlog_strategy="dropleft",
    )
