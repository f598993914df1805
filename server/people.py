"""Who is calling the HR API: the four roles, which role groups each route opens to, and the principal a request
acts as (its role, its jobs, and the name the audit log gives it).

The rules only; the users and their keys are stored by server/db/people.py, a bearer key is resolved by
server/auth.py, and each controller names the roles it opens to with `opt=roles(...)` (admin only when it names
none, so that a route nobody scoped stays closed to the other roles).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    ADMIN = "admin"  # everything, users and keys included
    RECRUITER = "recruiter"  # jobs, candidates, interviews, invitations, booking, dashboard, reports: their jobs
    REVIEWER = "reviewer"  # the hiring manager: reads reports and transcripts, scores reviews: their jobs
    OBSERVER = "observer"  # watches live interviews and comments: their jobs


ROLES = "roles"  # the route handler `opt` key naming the roles a route opens to
ADMINS = frozenset({Role.ADMIN})
RECRUITING = frozenset({Role.ADMIN, Role.RECRUITER})
REVIEWING = frozenset({Role.ADMIN, Role.RECRUITER, Role.REVIEWER})
OBSERVING = frozenset({Role.ADMIN, Role.RECRUITER, Role.REVIEWER, Role.OBSERVER})
BOOTSTRAP = "bootstrap"  # the principal id of the settings' API key (SHANMIAN_API_KEY)


def roles(allowed: frozenset[Role]) -> dict[str, Any]:
    """A route handler's or controller's `opt`: the roles that may call it (server/auth.py's guard reads it)."""
    return {ROLES: allowed}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as. `jobs` is None when they see every job (admins, and users marked all-jobs)."""

    id: str  # a user id, or BOOTSTRAP
    role: Role
    jobs: frozenset[str] | None
    email: str = ""  # a user's, lower case: a reviewer's review tasks are those addressed to it

    @property
    def actor(self) -> str:
        """The audit log's name for them."""
        return "bootstrap-admin" if self.id == BOOTSTRAP else f"user:{self.id}"

    def sees(self, job_id: str) -> bool:
        return self.jobs is None or job_id in self.jobs


BOOTSTRAP_ADMIN = Principal(BOOTSTRAP, Role.ADMIN, None)
