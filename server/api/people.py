"""`/v1/users`: the people who call the HR API, their role and jobs, and their API keys; admins only.

A key is shown once, in the answer that creates it; to rotate one, create the next and revoke the old one when its
holder has switched. Every change is in the audit log under the admin who made it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from msgspec import Meta, Struct

from server.auth import role_guard
from server.db.people import ApiKey, DuplicateEmail, KeyNotFound, SqlPeople, UnknownJobs, User, UserChange, UserNotFound
from server.db.store import Store
from server.errors import bad_request, conflict, errors, not_found
from server.people import ADMINS, Principal, Role, roles
from server.route_audit import audited

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Email = Annotated[str, Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
JobIds = Annotated[list[Annotated[str, Meta(min_length=1, max_length=64)]], Meta(max_length=1000)]


class UserIn(Struct, forbid_unknown_fields=True):
    name: Name
    email: Email
    role: Role
    jobs: JobIds = []
    all_jobs: bool = False  # every job, now and later (admins always)


class UserPatch(Struct, forbid_unknown_fields=True):
    """Only the fields sent change; `jobs` replaces the whole set."""

    role: Role | None = None
    jobs: JobIds | None = None
    all_jobs: bool | None = None
    disabled: bool | None = None  # a disabled user's keys answer 401 until enabled again


class KeyIn(Struct, forbid_unknown_fields=True):
    expires_at: datetime | None = None  # never, when left out


class KeyOut(Struct):
    id: str  # the key's visible part: it reads shm_<id>_...
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str  # shown this once: only its hash is kept


class UserOut(Struct):
    id: str
    name: str
    email: str
    role: Role
    all_jobs: bool
    jobs: list[str]
    disabled: bool
    created_at: datetime
    keys: list[KeyOut]


def key_out(key: ApiKey) -> KeyOut:
    return KeyOut(key.id, key.created_at, key.expires_at, key.revoked_at)


def user_out(user: User) -> UserOut:
    return UserOut(
        user.id,
        user.name,
        user.email,
        user.role,
        user.all_jobs,
        list(user.jobs),
        user.disabled,
        user.created_at,
        [key_out(k) for k in user.keys],
    )


def _unknown_jobs(exc: UnknownJobs) -> Exception:
    return bad_request(f"jobs: no job with id {', '.join(repr(j) for j in exc.job_ids)}")


class UserController(Controller):
    path = "/v1/users"
    tags = ["people"]  # noqa: RUF012  (Litestar reads tags as a class attribute)
    guards = [role_guard]  # noqa: RUF012
    opt = roles(ADMINS)

    @post(status_code=HTTP_201_CREATED, responses=errors(400, 401, 409))
    async def create_user(
        self,
        data: JSONBody[UserIn],
        people: NamedDependency[SqlPeople],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> UserOut:
        """A person with a role; give them a key with `POST /v1/users/{id}/keys`. A recruiter, reviewer or
        observer sees the jobs listed in `jobs` (none when empty) unless `all_jobs`."""
        try:
            user = await people.add_user(data.name.strip(), data.email, data.role, data.jobs, all_jobs=data.all_jobs)
        except UnknownJobs as exc:
            raise _unknown_jobs(exc) from None
        except DuplicateEmail:
            raise conflict(f"a user with the e-mail address {data.email!r} exists already") from None
        detail = {"role": user.role, "jobs": list(user.jobs), "all_jobs": user.all_jobs}
        await store.audit(principal.actor, "user_created", None, user_id=user.id, **detail)
        return user_out(user)

    @get(opt=audited("users_listed"), responses=errors(401))
    async def list_users(self, people: NamedDependency[SqlPeople]) -> list[UserOut]:
        """Every user, oldest first, with their keys (never the keys' text)."""
        return [user_out(u) for u in await people.users()]

    @get("/{user_id:str}", opt=audited("user_viewed"), responses=errors(401, 404))
    async def get_user(self, user_id: FromPath[str], people: NamedDependency[SqlPeople]) -> UserOut:
        try:
            return user_out(await people.user(user_id))
        except UserNotFound:
            raise not_found("user", user_id) from None

    @patch("/{user_id:str}", responses=errors(400, 401, 404))
    async def update_user(
        self,
        user_id: FromPath[str],
        data: JSONBody[UserPatch],
        people: NamedDependency[SqlPeople],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> UserOut:
        """Change a user's role, jobs, all-jobs mark, or disable them; effective from their next request."""
        jobs = None if data.jobs is None else tuple(data.jobs)
        try:
            user = await people.update_user(user_id, UserChange(data.role, jobs, data.all_jobs, data.disabled))
        except UserNotFound:
            raise not_found("user", user_id) from None
        except UnknownJobs as exc:
            raise _unknown_jobs(exc) from None
        sent = {"role": data.role, "jobs": data.jobs, "all_jobs": data.all_jobs, "disabled": data.disabled}
        changed = {name: value for name, value in sent.items() if value is not None}
        await store.audit(principal.actor, "user_changed", None, user_id=user_id, **changed)
        return user_out(user)

    @post("/{user_id:str}/keys", status_code=HTTP_201_CREATED, responses=errors(400, 401, 404))
    async def create_key(
        self,
        user_id: FromPath[str],
        people: NamedDependency[SqlPeople],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
        data: JSONBody[KeyIn | None] = None,
    ) -> KeyCreated:
        """A new API key for the user, its text in `key` this once. Rotating: create the next key, switch, then
        revoke the old one (`DELETE .../keys/{key_id}`)."""
        expires_at = data.expires_at if data is not None else None
        if expires_at is not None and (expires_at.tzinfo is None or expires_at <= datetime.now(UTC)):
            raise bad_request("expires_at: give a moment in the future, with its UTC offset")
        try:
            key, text = await people.add_key(user_id, expires_at)
        except UserNotFound:
            raise not_found("user", user_id) from None
        await store.audit(principal.actor, "api_key_created", None, user_id=user_id, key_id=key.id)
        return KeyCreated(key.id, key.created_at, key.expires_at, key.revoked_at, text)

    @delete("/{user_id:str}/keys/{key_id:str}", status_code=HTTP_200_OK, responses=errors(401, 404))
    async def revoke_key(
        self,
        user_id: FromPath[str],
        key_id: FromPath[str],
        people: NamedDependency[SqlPeople],
        store: NamedDependency[Store],
        principal: NamedDependency[Principal],
    ) -> KeyOut:
        """The key answers 401 from now on; revoking it again changes nothing."""
        try:
            key = await people.revoke_key(user_id, key_id)
        except KeyNotFound:
            raise not_found("API key", key_id) from None
        await store.audit(principal.actor, "api_key_revoked", None, user_id=user_id, key_id=key_id)
        return key_out(key)
