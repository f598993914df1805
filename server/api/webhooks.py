"""`/v1/webhooks`: register endpoints (the `whsec_` secret shown once), rotate their secrets, read the delivery log
and replay a delivery; `GET /v1/webhooks/event-types` lists each event type's JSON Schema.

The sending itself is server/webhooks/; what is signed and how it is retried, hr/webhooks.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_422_UNPROCESSABLE_ENTITY
from msgspec import Meta, Struct

from hr.webhook_events import EVENT_TYPES
from hr.webhook_schemas import SCHEMAS
from hr.webhook_targets import TargetRefusedError, TargetUnresolvedError, check_target
from server.auth import role_guard
from server.db.store import Store
from server.db.tables import WebhookEndpointRow
from server.errors import ApiError, ErrorBody, bad_request, conflict, errors, not_found
from server.people import Principal
from server.route_audit import audited
from server.webhooks import Webhooks
from server.webhooks.outbox import DeliveryLog, DeliveryNotFound, EndpointNotFound, ReplayRefused

Url = Annotated[str, Meta(min_length=1, max_length=2000)]


class EndpointIn(Struct):
    url: Url
    event_types: Annotated[list[str], Meta(min_length=1, max_length=len(EVENT_TYPES))]
    description: Annotated[str, Meta(max_length=200)] = ""


class EndpointOut(Struct):
    id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    # While a rotation's overlap lasts, deliveries carry a second signature made with the replaced secret.
    previous_secret_valid_until: datetime | None


class EndpointCreated(EndpointOut):
    secret: str  # `whsec_…`: shown here once; verify deliveries with it


class SecretRotated(Struct):
    id: str
    secret: str  # the new `whsec_…`, shown once
    previous_secret_valid_until: datetime  # until then every delivery is signed with the old secret too


class AttemptOut(Struct):
    attempt: int
    at: datetime
    outcome: str  # delivered | retrying | failed | gone | refused
    status_code: int | None
    latency_s: float
    response_head: str  # the first 1 KB of the receiver's answer
    error: str | None  # the connection error, when there was no answer
    next_attempt_at: datetime | None


class DeliveryOut(Struct):
    id: str
    endpoint_id: str
    event_id: str  # the `webhook-id` header: the same on every attempt and replay
    event_type: str
    state: str  # pending | delivered | failed | gone | refused | cancelled
    next_attempt_at: datetime | None
    created_at: datetime
    attempts: list[AttemptOut]


def endpoint_out(row: WebhookEndpointRow) -> EndpointOut:
    return EndpointOut(
        id=row.id,
        url=row.url,
        event_types=list(row.event_types),
        description=row.description,
        enabled=row.disabled_reason is None,
        disabled_reason=row.disabled_reason,
        created_at=row.created_at,
        previous_secret_valid_until=row.previous_until,
    )


def delivery_out(log: DeliveryLog) -> DeliveryOut:
    d = log.delivery
    return DeliveryOut(
        id=d.id,
        endpoint_id=d.endpoint_id,
        event_id=d.event_id,
        event_type=log.event_type,
        state=d.state,
        next_attempt_at=d.next_attempt_at,
        created_at=d.created_at,
        attempts=[
            AttemptOut(
                a.attempt, a.at, a.outcome, a.status_code, a.latency_s, a.response_head, a.error, a.next_attempt_at
            )
            for a in log.attempts
        ],
    )


def target_refused(message: str) -> ApiError:
    return ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "target_refused", message)


_REFUSED = {
    HTTP_422_UNPROCESSABLE_ENTITY: ResponseSpec(
        data_container=ErrorBody,
        description="`target_refused`: the URL is not http(s), or its host resolves to an address webhooks may not "
        "reach (loopback, private, link-local...) or to none; the message says which.",
        generate_examples=False,
    )
}


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ["webhooks"]  # noqa: RUF012  (Litestar reads tags as a class attribute)
    guards = [role_guard]  # noqa: RUF012

    @post("/endpoints", responses={**errors(400, 401), **_REFUSED})
    async def create_endpoint(
        self,
        data: JSONBody[EndpointIn],
        webhooks: NamedDependency[Webhooks],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> EndpointCreated:
        """Register a receiver for the listed event types; the answer holds its signing secret, shown only here."""
        unknown = sorted(set(data.event_types) - EVENT_TYPES)
        if unknown:
            raise bad_request(f"unknown event types: {', '.join(unknown)}; known: {', '.join(sorted(EVENT_TYPES))}")
        try:
            await check_target(data.url, webhooks.policy)
        except TargetRefusedError as exc:
            raise target_refused(
                f"{exc} (a deployment allows such targets with SHANMIAN_WEBHOOK_ALLOWED_TARGETS)"
            ) from exc
        except TargetUnresolvedError as exc:
            raise target_refused(f"{exc}; register a URL whose host resolves") from exc
        row = await webhooks.outbox.add_endpoint(data.url, data.event_types, data.description)
        # Not the URL, which may carry the receiver's own secret, nor the free-text description.
        await store.audit(principal.actor, "webhook_created", None, endpoint_id=row.id, event_types=data.event_types)
        out = endpoint_out(row)
        return EndpointCreated(**{f: getattr(out, f) for f in out.__struct_fields__}, secret=row.secret)

    @get("/endpoints", opt=audited("webhooks_listed"), responses=errors(401))
    async def list_endpoints(self, webhooks: NamedDependency[Webhooks]) -> list[EndpointOut]:
        """Every registered endpoint (not deleted), oldest first; secrets are never shown again."""
        return [endpoint_out(r) for r in await webhooks.outbox.endpoints()]

    @get("/endpoints/{endpoint_id:str}", opt=audited("webhook_viewed"), responses=errors(401, 404))
    async def get_endpoint(self, endpoint_id: FromPath[str], webhooks: NamedDependency[Webhooks]) -> EndpointOut:
        try:
            return endpoint_out(await webhooks.outbox.endpoint(endpoint_id))
        except EndpointNotFound:
            raise not_found("webhook endpoint", endpoint_id) from None

    @delete("/endpoints/{endpoint_id:str}", opt=audited("webhook_deleted"), responses=errors(401, 404))
    async def delete_endpoint(self, endpoint_id: FromPath[str], webhooks: NamedDependency[Webhooks]) -> None:
        """Nothing more is sent to it, pending retries included; its delivery log stays readable."""
        try:
            await webhooks.outbox.delete_endpoint(endpoint_id)
        except EndpointNotFound:
            raise not_found("webhook endpoint", endpoint_id) from None

    @post(
        "/endpoints/{endpoint_id:str}/rotate-secret",
        opt=audited("webhook_secret_rotated"),
        status_code=HTTP_200_OK,
        responses=errors(401, 404),
    )
    async def rotate_secret(self, endpoint_id: FromPath[str], webhooks: NamedDependency[Webhooks]) -> SecretRotated:
        """A new secret, shown once; for 24 hours every delivery is signed with the old one as well."""
        try:
            row = await webhooks.outbox.rotate_secret(endpoint_id)
        except EndpointNotFound:
            raise not_found("webhook endpoint", endpoint_id) from None
        assert row.previous_until is not None
        return SecretRotated(id=row.id, secret=row.secret, previous_secret_valid_until=row.previous_until)

    @post(
        "/endpoints/{endpoint_id:str}/enable",
        opt=audited("webhook_enabled"),
        status_code=HTTP_200_OK,
        responses=errors(401, 404),
    )
    async def enable_endpoint(self, endpoint_id: FromPath[str], webhooks: NamedDependency[Webhooks]) -> EndpointOut:
        """Enable an endpoint disabled by a 410 answer: its pending deliveries go out again, new events reach it."""
        try:
            await webhooks.outbox.set_enabled(endpoint_id, True)
            return endpoint_out(await webhooks.outbox.endpoint(endpoint_id))
        except EndpointNotFound:
            raise not_found("webhook endpoint", endpoint_id) from None

    @get("/deliveries", opt=audited("webhook_deliveries_listed", "endpoint_id", "limit"), responses=errors(400, 401))
    async def list_deliveries(
        self,
        webhooks: NamedDependency[Webhooks],
        endpoint_id: FromQuery[str | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000, description="deliveries to list, newest first")] = 100,
    ) -> list[DeliveryOut]:
        """The delivery log, newest first (one endpoint's with `?endpoint_id=`), each delivery with every attempt."""
        return [delivery_out(d) for d in await webhooks.outbox.deliveries(endpoint_id, limit)]

    @get("/deliveries/{delivery_id:str}", opt=audited("webhook_delivery_viewed"), responses=errors(401, 404))
    async def get_delivery(self, delivery_id: FromPath[str], webhooks: NamedDependency[Webhooks]) -> DeliveryOut:
        try:
            return delivery_out(await webhooks.outbox.delivery(delivery_id))
        except DeliveryNotFound:
            raise not_found("webhook delivery", delivery_id) from None

    @post(
        "/deliveries/{delivery_id:str}/replay",
        opt=audited("webhook_delivery_replayed"),
        status_code=HTTP_202_ACCEPTED,
        responses=errors(401, 404, 409),
    )
    async def replay_delivery(self, delivery_id: FromPath[str], webhooks: NamedDependency[Webhooks]) -> DeliveryOut:
        """Send the event to its endpoint again at once, with the same `webhook-id`, on a fresh retry schedule."""
        try:
            await webhooks.outbox.replay(delivery_id)
            return delivery_out(await webhooks.outbox.delivery(delivery_id))
        except DeliveryNotFound:
            raise not_found("webhook delivery", delivery_id) from None
        except ReplayRefused as exc:
            raise conflict(f"delivery {delivery_id} cannot be replayed now: {exc}") from exc

    @get("/event-types", responses=errors(401))
    async def event_types(self) -> dict[str, Any]:
        """Each event type with the JSON Schema (draft 2020-12) of its whole body."""
        return dict(SCHEMAS)
