"""Who may call what: HR and integrators by bearer API key, each key resolved to the principal it acts as (the
settings' key is the bootstrap admin; users' keys are in server/db/people.py), checked against the roles the route
opens to (server/people.py); a candidate by their interview's token only.

Failed key lookups are counted per client address: past the allowance a client is answered 429 before its key is
looked at, so keys cannot be guessed at the REST rate.
"""

from __future__ import annotations

from secrets import compare_digest
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.status_codes import HTTP_401_UNAUTHORIZED, HTTP_403_FORBIDDEN, HTTP_429_TOO_MANY_REQUESTS

from server.db.people import SqlPeople
from server.errors import ApiError, not_found
from server.people import ADMINS, BOOTSTRAP_ADMIN, ROLES, Principal, Role
from server.ratelimit import TokenBuckets
from server.settings import Settings

AUTHENTICATOR = "authenticator"  # its key in the app's state
PRINCIPAL = "principal"  # the resolved principal's key in the connection's state


def bearer_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    scheme, _, key = connection.headers.get("authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


def is_hr_key(settings: Settings, key: str | None) -> bool:
    """Whether `key` is the settings' (bootstrap admin) key."""
    return key is not None and compare_digest(key.encode(), settings.api_key.encode())


def token_matches(expected: str, given: str | None) -> bool:
    return given is not None and compare_digest(expected.encode(), given.encode())


class Authenticator:
    """Resolves a bearer key to its principal, once per connection (kept in the connection's state)."""

    def __init__(self, settings: Settings, people: SqlPeople, failures: TokenBuckets) -> None:
        self.settings = settings
        self.people = people
        self.failures = failures  # a token per failed lookup, per client address

    async def lookup(self, connection: ASGIConnection[Any, Any, Any, Any], key: str) -> Principal | None:
        """The key's principal, or None (counted against the client) when it names nobody."""
        client = connection.client.host if connection.client else "?"
        if not self.failures.has(client):
            raise ApiError(
                HTTP_429_TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests with a wrong API key from this address; wait a minute and retry",
            )
        found = BOOTSTRAP_ADMIN if is_hr_key(self.settings, key) else await self.people.principal(key)
        if found is None:
            self.failures.allow(client)
        return found

    async def optional(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
        """The caller's principal when they sent a valid key; None without one or with a wrong one (routes a
        candidate's token opens too decide with it)."""
        if PRINCIPAL in connection.state:
            principal: Principal = connection.state[PRINCIPAL]
            return principal
        key = bearer_key(connection)
        found = None if key is None else await self.lookup(connection, key)
        if found is not None:
            connection.state[PRINCIPAL] = found
        return found

    async def required(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
        if bearer_key(connection) is None:
            raise ApiError(HTTP_401_UNAUTHORIZED, "unauthorized", "send an API key as 'Authorization: Bearer <key>'")
        found = await self.optional(connection)
        if found is None:
            raise ApiError(
                HTTP_401_UNAUTHORIZED, "unauthorized", "the API key is not valid (unknown, revoked or expired)"
            )
        return found


def authenticator(connection: ASGIConnection[Any, Any, Any, Any]) -> Authenticator:
    found: Authenticator = connection.app.state[AUTHENTICATOR]
    return found


async def role_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The caller's key must name a principal whose role the route opens to (`opt["roles"]`, admins only when the
    route names none)."""
    principal = await authenticator(connection).required(connection)
    allowed: frozenset[Role] = handler.opt.get(ROLES, ADMINS)
    if principal.role not in allowed:
        may = ", ".join(sorted(allowed))
        raise ApiError(
            HTTP_403_FORBIDDEN,
            "forbidden",
            f"the role {principal.role!s} may not call {connection.scope.get('method', '')} {connection.url.path}; "
            f"it is open to: {may}",
        )


def current_principal(request: Request[Any, Any, Any]) -> Principal:
    """The `principal` dependency: whom the role guard let in (handlers behind `role_guard` only)."""
    principal: Principal = request.state[PRINCIPAL]
    return principal


def within_jobs(principal: Principal, job_id: str, what: str, ident: str) -> None:
    """404 for something of a job outside the principal's jobs, as if it did not exist: no existence oracle."""
    if not principal.sees(job_id):
        raise not_found(what, ident)
