"""The Litestar application factory: routes, dependencies, lifespan (store, models, live sessions), errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig

from server.api.candidates import CandidateController
from server.api.dashboard import dashboard
from server.api.interviews import InterviewController
from server.api.jobs import JobController
from server.api.recordings import get_highlights, get_recording, give_consent
from server.api.scoring import score_interview
from server.bus import Bus, make_bus
from server.db.store import Store
from server.errors import errors, handle_http_error, handle_unexpected
from server.planning import drafting_lifespan, drafts_of
from server.ratelimit import (
    RATE_LIMIT_STORE,
    StreamRateLimitMiddleware,
    TokenBuckets,
    rate_limit_store,
    rest_rate_limit,
)
from server.runtime import Runtime
from server.settings import Settings
from server.stream.endpoints import candidate_stream, observer_stream, rtc_offer
from server.stream.registry import LiveInterviews
from server.stream.rtc import media_lifespan, provide_recordings, provide_rtc_peers
from server.web import web_handlers

log = logging.getLogger(__name__)


def _store(state: State) -> Store:
    return state.store


def _live(state: State) -> LiveInterviews:
    return state.live


def _settings(state: State) -> Settings:
    return state.settings


def _bus(state: State) -> Bus:
    return state.bus


def _runtime(state: State) -> Runtime:
    return state.runtime


@get("/health", tags=["ops"], responses=errors(limited=False))
async def health(state: State) -> dict[str, Any]:
    """`degraded` while the event bus (Redis) is away: sessions go on, other nodes' observers wait for it."""
    runtime: Runtime = state.runtime
    bus: Bus = state.bus
    bus_health = bus.health()
    return {
        "status": "ok" if bus_health["ok"] else "degraded",
        "bus": bus_health,
        "live_sessions": len(state.live),
        "models": runtime.loaded,
    }


def create_app(settings: Settings, runtime: Runtime | None = None) -> Litestar:
    """The app; pass a loaded `runtime` to share models across apps (tests), else it is loaded at start-up."""
    bus = make_bus(settings)
    channels = bus.plugin

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = await Store.open(settings.sqlalchemy_url)
        own_runtime = runtime is None
        rt = runtime or await Runtime.load(settings)
        app.state.store = store
        app.state.runtime = rt
        app.state.live = LiveInterviews(store, channels, rt, settings, bus=bus)
        try:
            yield
        finally:
            await app.state.live.shutdown()
            if own_runtime:
                await rt.aclose()
            await store.close()

    return Litestar(
        route_handlers=[
            JobController,
            CandidateController,
            InterviewController,
            score_interview,
            candidate_stream,
            observer_stream,
            rtc_offer,
            give_consent,
            get_recording,
            get_highlights,
            health,
            dashboard,
            *web_handlers,
        ],
        dependencies={
            "store": Provide(_store, sync_to_thread=False),
            "live_interviews": Provide(_live, sync_to_thread=False),
            "settings": Provide(_settings, sync_to_thread=False),
            "bus": Provide(_bus, sync_to_thread=False),
            "runtime": Provide(_runtime, sync_to_thread=False),
            "drafts": Provide(drafts_of, sync_to_thread=False),
            "recordings": Provide(provide_recordings, sync_to_thread=False),
            "rtc_peers": Provide(provide_rtc_peers, sync_to_thread=False),
        },
        plugins=[channels],
        middleware=[
            rest_rate_limit(settings).middleware,
            StreamRateLimitMiddleware(
                TokenBuckets(settings.stream_rate_limit_per_minute, settings.stream_rate_limit_burst)
            ),
        ],
        stores={RATE_LIMIT_STORE: rate_limit_store(settings)},
        lifespan=[lifespan, media_lifespan, drafting_lifespan],
        state=State({"settings": settings, "bus": bus}),
        exception_handlers={HTTPException: handle_http_error, Exception: handle_unexpected},
        openapi_config=OpenAPIConfig(title="Shanmian", version="1", path="/schema"),
    )
