"""Errors at the HTTP edge: one JSON shape, `{"error": {"code", "message"}}`, with a message a person can act on,
and its description in the OpenAPI document for every status a route can answer with.

Never a stack trace: unexpected exceptions are logged and answered as `internal`.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, ValidationException
from litestar.exceptions.http_exceptions import TooManyRequestsException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from msgspec import Struct

log = logging.getLogger(__name__)


class ErrorDetail(Struct):
    code: str  # stable, for programs: bad_request, unauthorized, forbidden, not_found, conflict, rate_limited, internal
    message: str  # for people: what is wrong and how to fix it


class ErrorBody(Struct):
    """Every error answer of the HTTP API."""

    error: ErrorDetail


_WHEN = {
    HTTP_400_BAD_REQUEST: "`bad_request`: a body, parameter or value the server cannot use; the message says which.",
    HTTP_401_UNAUTHORIZED: "`unauthorized`: the API key (bearer) or the interview's token is missing, wrong, revoked "
    "or expired.",
    HTTP_403_FORBIDDEN: "`forbidden`: the API key is valid, but its role may not do this; the message says which "
    "roles may.",
    HTTP_404_NOT_FOUND: "`not_found`: nothing with that id.",
    HTTP_409_CONFLICT: "`conflict`: the resource is not in a state that allows this now; the message says why.",
    HTTP_429_TOO_MANY_REQUESTS: "`rate_limited`: too many requests from this address; retry after `Retry-After`.",
    HTTP_500_INTERNAL_SERVER_ERROR: "`internal`: the server failed; the error has been logged.",
    HTTP_503_SERVICE_UNAVAILABLE: "`unavailable`: a service this needs (Redis, the database) is down; nothing was "
    "changed, retry shortly.",
}


def errors(*status_codes: int, limited: bool = True) -> dict[int, ResponseSpec]:
    """A route's `responses` for the OpenAPI document: its own error statuses, and those any route may answer
    (500, and 429 from the rate limit unless the route is exempt from it), all with the one error body.
    """
    always = (
        {HTTP_500_INTERNAL_SERVER_ERROR, HTTP_429_TOO_MANY_REQUESTS} if limited else {HTTP_500_INTERNAL_SERVER_ERROR}
    )
    codes = sorted({*status_codes, *always})
    return {
        code: ResponseSpec(data_container=ErrorBody, description=_WHEN[code], generate_examples=False) for code in codes
    }


class ApiError(HTTPException):
    """An error with the protocol's code; raise it anywhere in a handler."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(status_code=status_code, detail=message)
        self.code = code


def bad_request(message: str) -> ApiError:
    return ApiError(HTTP_400_BAD_REQUEST, "bad_request", message)


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(HTTP_404_NOT_FOUND, "not_found", f"no {what} with id {ident!r}")


def conflict(message: str) -> ApiError:
    return ApiError(HTTP_409_CONFLICT, "conflict", message)


def error_body(code: str, message: str) -> ErrorBody:
    return ErrorBody(ErrorDetail(code, message))


_CODES = {
    HTTP_400_BAD_REQUEST: "bad_request",
    HTTP_401_UNAUTHORIZED: "unauthorized",
    HTTP_403_FORBIDDEN: "forbidden",
    HTTP_404_NOT_FOUND: "not_found",
    HTTP_429_TOO_MANY_REQUESTS: "rate_limited",
    HTTP_503_SERVICE_UNAVAILABLE: "unavailable",
}


def _validation_message(exc: ValidationException) -> str:
    details = exc.extra if isinstance(exc.extra, list) else []
    parts = []
    for d in details:
        if isinstance(d, dict):
            where = d.get("key") or d.get("source") or ""
            parts.append(f"{d.get('message', '')}{f' (at {where})' if where else ''}".strip())
    detail = "; ".join(p for p in parts if p)
    return f"the request body is invalid: {detail}" if detail else str(exc.detail)


def handle_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    status = exc.status_code
    if isinstance(exc, ApiError):
        code, message = exc.code, str(exc.detail)
    elif isinstance(exc, ValidationException):
        code, message = "bad_request", _validation_message(exc)
    elif isinstance(exc, NotAuthorizedException):
        code, message = "unauthorized", str(exc.detail)
    elif isinstance(exc, NotFoundException):
        code, message = "not_found", f"{request.method} {request.url.path} does not exist"
    elif isinstance(exc, TooManyRequestsException):
        code, message = "rate_limited", "too many requests; wait a little and retry"
    else:
        code, message = _CODES.get(status, "http_error"), str(exc.detail)
    return Response(error_body(code, message), status_code=status, headers=getattr(exc, "headers", None))


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return Response(
        error_body("internal", "the server failed to handle this request; it has been logged"),
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
    )
