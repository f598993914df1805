"""The Litestar application factory: routes, the services handlers depend on (server/services.py), errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig

from hr.offers import StartWindow
from server import log_redaction
from server.api.audit import export_audit, verify_audit
from server.api.audits import bias_audit
from server.api.booking import AvailabilityController, BookingController
from server.api.candidates import CandidateController
from server.api.dashboard import dashboard
from server.api.demographics import record_demographics
from server.api.handoffs import CompetencyController, CourseController, OfferController, TrainingController
from server.api.interviews import InterviewController
from server.api.invitations import InvitationController, invitation_link
from server.api.job_scores import job_scores
from server.api.jobs import JobController
from server.api.mail import MailController
from server.api.outcomes import add_outcome, job_outcomes, upload_outcomes
from server.api.people import UserController
from server.api.question_analytics import job_question_analytics
from server.api.recordings import get_highlights, get_recording, give_consent
from server.api.recourse import CandidateRecourseController, RecourseController
from server.api.reviews import ReviewController, ReviewersController
from server.api.scoring import score_interview
from server.api.shares import InterviewSharesController, ShareController
from server.api.studies import approve_weights, job_validity, weights_proposal
from server.api.webhooks import WebhookController
from server.auth import AUTHENTICATOR, Authenticator, authenticator, current_principal
from server.bus import Bus, make_bus
from server.db.booking import Letterhead, SqlBookings
from server.db.handoffs import SqlHandoffs
from server.db.invitations import SqlInvitations
from server.db.people import SqlPeople
from server.db.reviews import SqlReviews
from server.errors import errors, handle_http_error, handle_unexpected
from server.invitation_expiry import InvitationExpiry
from server.mail import Mail
from server.metrics import Metrics, metrics_endpoint
from server.observer_tickets import OBSERVER_TICKET_STORE, ObserverTickets, ticket_store
from server.people import ADMINS
from server.ratelimit import (
    RATE_LIMIT_STORE,
    StreamHandshakes,
    StreamRateLimitMiddleware,
    TokenBuckets,
    allowances,
    limits_redis,
    rate_limit_store,
    rest_rate_limit,
)
from server.reminders.worker import ReminderWorker
from server.route_audit import RouteAudit
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
) -> dict[str, Any]:
    """`ok`, or `degraded` while the event bus (Redis) is away: sessions go on, other nodes' observers wait for it.

    With an admin's API key as bearer, also the bus's state, the live sessions and the models; without it, nothing
    that would tell an outsider what runs here.
    """
    bus_health = bus.health()
    status = {"status": "ok" if bus_health["ok"] else "degraded"}
    principal = await authenticator(request).optional(request)
    if principal is None or principal.role not in ADMINS:
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
    mail = Mail(settings)
    reviews: SqlReviews | None = None
    handoffs: SqlHandoffs | None = None
    bookings: SqlBookings | None = None
    reminders: ReminderWorker | None = None
    expiry: InvitationExpiry | None = None
    people: SqlPeople | None = None
    failed_keys = TokenBuckets(settings.auth_failures_per_minute, settings.auth_failures_burst)
    # Counted in Redis when there is one: a client spreading its handshakes, or an observer their reconnects, over
    # several nodes gets no more than from one.
    shared_limits = limits_redis(settings)
    handshake_allowances = allowances(
        settings, shared_limits, "handshakes", settings.stream_handshakes_per_minute, settings.stream_handshakes_burst
    )
    handshakes = StreamHandshakes(handshake_allowances, settings.stream_handshakes_per_minute)
    observer_comments = allowances(
        settings, shared_limits, "comments", settings.observer_comments_per_minute, settings.observer_comments_burst
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        nonlocal reviews, handoffs, bookings, reminders, expiry, people
        await services.start()
        people = SqlPeople(services.store)
        app.state[AUTHENTICATOR] = Authenticator(settings, people, failed_keys)
        mail.start(services.store)
        letterhead = Letterhead(mail.sender, mail.domain, settings.base_url)
        bookings = SqlBookings(
            services.store,
            services.webhooks.outbox,
            mail.outbox,
            letterhead,
            reminder_offsets=settings.reminder_offset_list,
            candidate_token_days=settings.candidate_token_days,
        )
        reminders = ReminderWorker(services.store, mail.outbox, letterhead, poll_s=settings.reminder_poll_s)
        reminders.start()
        expiry = InvitationExpiry(
            SqlInvitations(services.store, services.webhooks.outbox, mail.outbox), poll_s=settings.invitation_poll_s
        )
        expiry.start()
        # After the webhook outbox among the store's listeners: a report's review.requested follows its report.ready.
        reviews = SqlReviews(
            services.store,
            services.webhooks.outbox,
            mail,
            base_url=settings.base_url,
            review_due=timedelta(days=settings.review_due_days),
            recourse_due=timedelta(days=settings.recourse_due_days),
        )
        services.store.listeners.append(reviews)
        window = StartWindow(settings.offer_start_earliest_days, settings.offer_start_latest_days)
        handoffs = SqlHandoffs(services.store, services.webhooks.outbox, base_url=settings.base_url, window=window)
        services.webhooks.outbox.reactions.append(handoffs.event_written)
        if settings.metrics:
            await metrics.start()
        try:
            yield
        finally:
            await metrics.stop()
            if reminders is not None:
                await reminders.aclose()
            if expiry is not None:
                await expiry.aclose()
            await mail.aclose()
            await services.stop()
            if shared_limits is not None:
                await shared_limits.aclose()

    return Litestar(
        route_handlers=[
            UserController,
            JobController,
            CandidateController,
            InterviewController,
            score_interview,
            export_audit,
            verify_audit,
            WebhookController,
            InvitationController,
            invitation_link,
            AvailabilityController,
            BookingController,
            MailController,
            ReviewersController,
            ReviewController,
            CandidateRecourseController,
            RecourseController,
            InterviewSharesController,
            ShareController,
            OfferController,
            CourseController,
            CompetencyController,
            TrainingController,
            add_outcome,
            upload_outcomes,
            job_outcomes,
            record_demographics,
            job_validity,
            job_question_analytics,
            job_scores,
            weights_proposal,
            approve_weights,
            bias_audit,
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
            "handshakes": Provide(lambda: handshakes, sync_to_thread=False),
            "observer_comments": Provide(lambda: observer_comments, sync_to_thread=False),
            "metrics": Provide(lambda: metrics, sync_to_thread=False),
            "mail": Provide(lambda: mail, sync_to_thread=False),
            "invitations": Provide(
                lambda: SqlInvitations(services.store, services.webhooks.outbox, mail.outbox), sync_to_thread=False
            ),
            "reviews": Provide(lambda: reviews, sync_to_thread=False),
            "handoffs": Provide(lambda: handoffs, sync_to_thread=False),
            "bookings": Provide(lambda: bookings, sync_to_thread=False),
            "people": Provide(lambda: people, sync_to_thread=False),
            "principal": Provide(current_principal, sync_to_thread=False),
        },
        plugins=[bus.plugin],
        # The audit entries of the HR routes marked `audited(...)`, once each answers 2xx (server/route_audit.py).
        before_send=[RouteAudit(settings.audit_read_repeat_s).record],
        middleware=[
            SecurityHeadersMiddleware(behind_tls=settings.behind_tls),
            rest_rate_limit(settings).middleware,
            StreamRateLimitMiddleware(
                TokenBuckets(settings.stream_rate_limit_per_minute, settings.stream_rate_limit_burst)
            ),
        ],
        stores={RATE_LIMIT_STORE: rate_limit_store(settings), OBSERVER_TICKET_STORE: tickets_store},
        lifespan=[lifespan],
        # Read outside handlers: by the auth guard (settings, and the authenticator once started), and by tools
        # holding the app (services, bus).
        state=State({"settings": settings, "services": services, "bus": bus}),
        exception_handlers={
            HTTPException: metrics.exception_handler(handle_http_error),
            Exception: metrics.exception_handler(handle_unexpected),
        },
        openapi_config=OpenAPIConfig(title="Shanmian", version="1", path="/schema"),
    )
