"""The audit entry of an HR route that does not write its own: a route names its action with `opt=audited(...)`,
and `RouteAudit.record`, the app's before-send hook, appends one entry (server/db/audit_log.py) when the route answers
2xx, naming the principal the role guard let in (server/auth.py) and holding only ids and filters.

Routes whose entry needs what only the handler knows (a created row's id, a count, the interview a body names) call
`Store.audit` themselves and carry no marker, so that no request writes two entries.

What an entry holds, so that an erasure leaves it harmless:
- the path's ids, except a candidate's;
- an `interview_id` (path or query) as the entry's interview link, and a path's `candidate_id` as its candidate
  link, while that interview or candidate exists, never in the detail: an erasure removes the links;
- the query parameters the marker names, as sent: filters that are ids or choices, never free text or e-mails.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
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
WHOM = "candidate_id"  # the path parameter that becomes the entry's candidate link
READS = frozenset({"GET", "HEAD"})


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


class RouteAudit:
    """The app's before-send hook (`record`). A read repeated by the same person with the same ids and filters
    within `repeat_s` (a dashboard polling every 10 s) is the same access: it is recorded once per window, not once
    per poll, which would add ~26,000 entries a day per open tab to a chain kept for a year. Writes are always
    recorded. The window is per process: a person polling through two nodes is recorded by each."""

    def __init__(self, repeat_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.repeat_s = repeat_s
        self.clock = clock
        self._recorded: OrderedDict[tuple[Any, ...], float] = OrderedDict()

    def _repeated(self, key: tuple[Any, ...]) -> bool:
        now = self.clock()
        while self._recorded and now - next(iter(self._recorded.values())) >= self.repeat_s:
            self._recorded.popitem(last=False)  # oldest first: what is left is inside the window
        if key in self._recorded:
            return True
        self._recorded[key] = now
        return False

    async def record(self, message: Message, scope: Scope) -> None:
        """Appends the marked route's entry as its 2xx answer starts, before any of its body is sent: when the
        append fails, the request fails (500) and what it would have read is not sent."""
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
        whom = path.pop(WHOM, None)
        detail = dict(path)
        detail |= {name: given[name] for name in marked.query if name in given and name != LINK}
        if scope.get("method") in READS and self._repeated(
            (principal.actor, marked.action, link, whom, tuple(sorted(detail.items())))
        ):
            return
        services: Services = scope["app"].state["services"]
        store = services.store
        # An id of an erased candidate or their interview, sent again, must not come back as a link.
        linked = link if isinstance(link, str) and await store.interview(link) is not None else None
        candidate = whom if isinstance(whom, str) and await store.candidate(whom) is not None else None
        await store.audit_candidate(principal.actor, marked.action, candidate, linked, **detail)
