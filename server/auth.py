"""Who may call what: HR and integrators by bearer API key, a candidate by their interview's token only."""

from __future__ import annotations

from secrets import compare_digest
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.status_codes import HTTP_401_UNAUTHORIZED

from server.errors import ApiError
from server.settings import Settings


def bearer_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    scheme, _, key = connection.headers.get("authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


def is_hr_key(settings: Settings, key: str | None) -> bool:
    return key is not None and compare_digest(key.encode(), settings.api_key.encode())


def hr_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    settings: Settings = connection.app.state.settings
    key = bearer_key(connection)
    if key is None:
        raise ApiError(HTTP_401_UNAUTHORIZED, "unauthorized", "send the HR API key as 'Authorization: Bearer <key>'")
    if not is_hr_key(settings, key):
        raise ApiError(HTTP_401_UNAUTHORIZED, "unauthorized", "the API key is not valid")


def token_matches(expected: str, given: str | None) -> bool:
    return given is not None and compare_digest(expected.encode(), given.encode())
