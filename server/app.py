"""The Litestar application factory: routes, the services handlers depend on (server/services.py), errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig

from server.api.candidates import CandidateController
from server.api.dashboard import dashboard
from server.api.interviews import InterviewController
from server.api.jobs import JobController
from server.api.recordings import get_highlights, get_recording, give_consent
from server.api.scoring import score_interview
from server.bus import Bus, make_bus
from server.errors import errors, handle_http_error, handle_unexpected
from server.ratelimit import (
    RATE_LIMIT_STORE,
    StreamRateLimitMiddleware,
    TokenBuckets,
    rate_limit_store,
    rest_rate_limit,
)
from server.runtime import Runtime
from server.services import Services
from server.settings import Settings
from server.stream.endpoints import candidate_stream, observer_stream, rtc_offer
from server.stream.registry import LiveInterviews
from server.web import web_handlers

log = logging.getLogger(__name__)


@get("/health", tags=["ops"], responses=errors(limited=False))
async def health(
    bus: NamedDependency[Bus], live_interviews: NamedDependency[LiveInterviews], runtime: NamedDependency[Runtime]
) -> dict[str, Any]:
    """`degraded` while the event bus (Redis) is away: sessions go on, other nodes' observers wait for it."""
    bus_health = bus.health()
    return {
        "status": "ok" if bus_health["ok"] else "degraded",
        "bus": bus_health,
        "live_sessions": len(live_interviews),
        "models": runtime.loaded,
    }


def create_app(settings: Settings, runtime: Runtime | None = None) -> Litestar:
    """The app; pass a loaded `runtime` to share models across apps (tests), else it is loaded at start-up."""
    bus = make_bus(settings)
    services = Services(settings, bus, runtime)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await services.start()
        try:
            yield
        finally:
            await services.stop()

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
        dependencies=services.providers(),
        plugins=[bus.plugin],
        middleware=[
            rest_rate_limit(settings).middleware,
            StreamRateLimitMiddleware(
                TokenBuckets(settings.stream_rate_limit_per_minute, settings.stream_rate_limit_burst)
            ),
        ],
        stores={RATE_LIMIT_STORE: rate_limit_store(settings)},
        lifespan=[lifespan],
        # Read outside handlers: by the auth guard (settings), and by tools holding the app (services, bus).
        state=State({"settings": settings, "services": services, "bus": bus}),
        exception_handlers={HTTPException: handle_http_error, Exception: handle_unexpected},
        openapi_config=OpenAPIConfig(title="Shanmian", version="1", path="/schema"),
    )
