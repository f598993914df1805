"""The audit entry of an HR route that does not write its own: a route names its action with `opt=audited(...)`,
and `record_route`, the app's before-send hook, appends one entry (server/db/audit_log.py) when the route answers
2xx, naming the principal the role guard let in (server/auth.py) and holding only ids and filters.

Routes whose entry needs what only the handler knows (a created row's id, a count, the interview a body names) call
`Store.audit` themselves and carry no marker, so that no request writes two entries.

What an entry holds, so that an erasure leaves it harmless:
- the path's ids, except a candidate's (their id would outlive their erasure, which removes only interview links);
- an `interview_id` (path or query) as the entry's interview link, while that interview exists, never in the
  detail: an erasure removes the link;
- the query parameters the marker names, as sent: filters that are ids or choices, never free text or e-mails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar.connection import ASGIConnection
from litestar.types import Message, Scope

from server.auth import PRINCIPAL
from server.people import Principal

if TYPE_CHECKING:  # a type only: the API modules import this module, and the services much of the server
    from server.services import Services

AUDIT = "audit"  # the route handler `opt` key naming its audit action
LINK = "interview_id"  # the path or query parameter that becomes the entry's interview link
UNWRITTEN = frozenset({"candidate_id"})  # path ids never written (see the module's docstring)


@dataclass(frozen=True, slots=True)
class Audited:
    action: str
    query: tuple[str, ...]  # the query parameters recorded as filters


def audited(action: str, *query: str) -> dict[str, Any]:
    """A route handler's `opt`: the action its successful requests are recorded as, and the query parameters
    (filters) the entry keeps. Merge it with `roles(...)` where a handler names both: `roles(...) | audited(...)`."""
    return {AUDIT: Audited(action, query)}


def _status(message: Message) -> int:
    status: int = message["status"]  # type: ignore[typeddict-item]  # only read on http.response.start
    return status


async def record_route(message: Message, scope: Scope) -> None:
    """Appends the marked route's entry as its 2xx answer starts, before any of its body is sent: when the append
    fails, the request fails (500) and what it would have read is not sent."""
    if message["type"] != "http.response.start" or not 200 <= _status(message) < 300:
        return
    handler = scope.get("route_handler")
    marked: Audited | None = handler.opt.get(AUDIT) if handler is not None else None
    principal: Principal | None = scope.get("state", {}).get(PRINCIPAL)
    if marked is None or principal is None:  # unmarked, or not behind the role guard (which names the principal)
        return
    path: dict[str, Any] = dict(scope.get("path_params") or {})
    given = ASGIConnection[Any, Any, Any, Any](scope).query_params
    link = path.pop(LINK, None) or given.get(LINK)
    detail = {name: value for name, value in path.items() if name not in UNWRITTEN}
    detail |= {name: given[name] for name in marked.query if name in given and name != LINK}
    services: Services = scope["app"].state["services"]
    store = services.store
    # An id of an erased candidate's interview, sent as a filter, must not come back as a link.
    linked = link if isinstance(link, str) and await store.interview(link) is not None else None
    await store.audit(principal.actor, marked.action, linked, **detail)
