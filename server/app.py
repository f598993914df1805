"""The Litestar application factory: routes, the services handlers depend on (server/services.py), errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig

from server import log_redaction
from server.api.candidates import CandidateController
from server.api.dashboard import dashboard
from server.api.interviews import InterviewController
from server.api.jobs import JobController
from server.api.recordings import get_highlights, get_recording, give_consent
from server.api.scoring import score_interview
from server.api.webhooks import WebhookController
from server.auth import bearer_key, is_hr_key
from server.bus import Bus, make_bus
from server.errors import errors, handle_http_error, handle_unexpected
from server.metrics import Metrics, metrics_endpoint
from server.observer_tickets import OBSERVER_TICKET_STORE, ObserverTickets, ticket_store
from server.ratelimit import (
    RATE_LIMIT_STORE,
    StreamRateLimitMiddleware,
    TokenBuckets,
    rate_limit_store,
    rest_rate_limit,
)
from server.runtime import Runtime
from server.security_headers import SecurityHeadersMiddleware
from server.services import Services
from server.settings import Settings
from server.stream.endpoints import candidate_stream, observer_stream, observer_ticket, rtc_offer
from server.stream.registry import LiveInterviews
from server.web import web_handlers

log = logging.getLogger(__name__)


@get("/health", tags=["ops"], responses=errors(limited=False))
async def health(
    request: Request[Any, Any, Any],
    bus: NamedDependency[Bus],
    live_interviews: NamedDependency[LiveInterviews],
    runtime: NamedDependency[Runtime],
    settings: NamedDependency[Settings],
) -> dict[str, Any]:
    """`ok`, or `degraded` while the event bus (Redis) is away: sessions go on, other nodes' observers wait for it.

    With the HR API key as bearer, also the bus's state, the live sessions and the models; without it, nothing
    that would tell an outsider what runs here.
    """
    bus_health = bus.health()
    status = {"status": "ok" if bus_health["ok"] else "degraded"}
    if not is_hr_key(settings, bearer_key(request)):
        return status
    return {**status, "bus": bus_health, "live_sessions": len(live_interviews), "models": runtime.loaded}


def create_app(settings: Settings, runtime: Runtime | None = None) -> Litestar:
    """The app; pass a loaded `runtime` to share models across apps (tests), else it is loaded at start-up."""
    # Here as well as in the CLI: an app served by any ASGI server must not log its candidates' tokens either.
    log_redaction.install()
    bus = make_bus(settings)
    services = Services(settings, bus, runtime)
    tickets_store = ticket_store(settings)
    observer_tickets = ObserverTickets(tickets_store, settings.observer_ticket_ttl_s)
    metrics = Metrics()
    # Counting observers costs nothing; with metrics off they are still seated, just not scraped.
    observer_seats = metrics.observer_seats(settings.max_observers_per_interview)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await services.start()
        if settings.metrics:
            await metrics.start()
        try:
            yield
        finally:
            await metrics.stop()
            await services.stop()

    return Litestar(
        route_handlers=[
            JobController,
            CandidateController,
            InterviewController,
            score_interview,
            WebhookController,
            candidate_stream,
            observer_stream,
            observer_ticket,
            rtc_offer,
            give_consent,
            get_recording,
            get_highlights,
            health,
            dashboard,
            *web_handlers,
            *([metrics_endpoint] if settings.metrics else []),
        ],
        dependencies={
            **services.providers(),
            "observer_tickets": Provide(lambda: observer_tickets, sync_to_thread=False),
            "observer_seats": Provide(lambda: observer_seats, sync_to_thread=False),
            "metrics": Provide(lambda: metrics, sync_to_thread=False),
        },
        plugins=[bus.plugin],
        middleware=[
            SecurityHeadersMiddleware(behind_tls=settings.behind_tls),
            rest_rate_limit(settings).middleware,
            StreamRateLimitMiddleware(
                TokenBuckets(settings.stream_rate_limit_per_minute, settings.stream_rate_limit_burst)
            ),
        ],
        stores={RATE_LIMIT_STORE: rate_limit_store(settings), OBSERVER_TICKET_STORE: tickets_store},
        lifespan=[lifespan],
        # Read outside handlers: by the auth guard (settings), and by tools holding the app (services, bus).
        state=State({"settings": settings, "services": services, "bus": bus}),
        exception_handlers={
            HTTPException: metrics.exception_handler(handle_http_error),
            Exception: metrics.exception_handler(handle_unexpected),
        },
        openapi_config=OpenAPIConfig(title="Shanmian", version="1", path="/schema"),
    )
