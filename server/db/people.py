"""People in the database: users with their role and jobs, and their API keys, of which only a SHA-256 is kept.

A key reads `shm_<id>_<secret>`: the id is stored in the clear to find the row (and to name the key when revoking
it), the secret is 32 random bytes; the whole text is shown once, when the key is made.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.store import Store
from server.db.tables import ApiKeyRow, JobRow, UserJobRow, UserRow
from server.people import Principal, Role

Clock = Callable[[], datetime]
KEY_PREFIX = "shm"
# Compared against when a key id is unknown, so that an unknown id and a wrong secret take the same time.
_NO_KEY = hashlib.sha256(secrets.token_bytes(32)).hexdigest()


def utc_now() -> datetime:
    return datetime.now(UTC)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class UserNotFound(LookupError):
    pass


class KeyNotFound(LookupError):
    pass


class UnknownJobs(LookupError):
    def __init__(self, job_ids: Sequence[str]) -> None:
        super().__init__(", ".join(job_ids))
        self.job_ids = tuple(job_ids)


class DuplicateEmail(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    user_id: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    email: str
    role: Role
    all_jobs: bool
    jobs: tuple[str, ...]
    disabled: bool
    created_at: datetime
    keys: tuple[ApiKey, ...]


@dataclass(frozen=True, slots=True)
class UserChange:
    """What PATCH changes; None leaves a field as it is. `jobs` replaces the whole set."""

    role: Role | None = None
    jobs: tuple[str, ...] | None = None
    all_jobs: bool | None = None
    disabled: bool | None = None


def _key_of(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.id, row.user_id, row.created_at, row.expires_at, row.revoked_at)


def _parse(key: str) -> str | None:
    """The key id of a well-formed key, else None."""
    prefix, _, rest = key.partition("_")
    key_id, _, secret = rest.partition("_")
    return key_id if prefix == KEY_PREFIX and key_id and secret else None


class SqlPeople:
    """Every read and write of the users, user_jobs and api_keys tables."""

    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.clock = clock
        self._session = async_sessionmaker(store.engine, expire_on_commit=False)

    async def _user(self, s: AsyncSession, row: UserRow) -> User:
        jobs = (await s.scalars(select(UserJobRow.job_id).where(UserJobRow.user_id == row.id))).all()
        keys = (
            await s.scalars(select(ApiKeyRow).where(ApiKeyRow.user_id == row.id).order_by(ApiKeyRow.created_at))
        ).all()
        return User(
            row.id,
            row.name,
            row.email,
            Role(row.role),
            row.all_jobs,
            tuple(sorted(jobs)),
            row.disabled,
            row.created_at,
            tuple(_key_of(k) for k in keys),
        )

    async def _set_jobs(self, s: AsyncSession, user_id: str, jobs: Sequence[str]) -> None:
        wanted = set(jobs)
        found = set((await s.scalars(select(JobRow.id).where(JobRow.id.in_(wanted)))).all()) if wanted else set()
        if wanted - found:
            raise UnknownJobs(sorted(wanted - found))
        await s.execute(delete(UserJobRow).where(UserJobRow.user_id == user_id))
        s.add_all(UserJobRow(user_id=user_id, job_id=j) for j in sorted(wanted))

    async def add_user(
        self, name: str, email: str, role: Role, jobs: Sequence[str] = (), *, all_jobs: bool = False
    ) -> User:
        row = UserRow(
            id=uuid.uuid4().hex,
            name=name,
            email=email.strip().lower(),  # as review tasks store reviewers' addresses
            role=role,
            all_jobs=all_jobs,
            disabled=False,
            created_at=self.clock(),
        )
        try:
            async with self._session() as s, s.begin():
                s.add(row)
                await s.flush()
                await self._set_jobs(s, row.id, jobs)
        except IntegrityError:
            raise DuplicateEmail(email) from None
        return await self.user(row.id)

    async def user(self, user_id: str) -> User:
        async with self._session() as s:
            row = await s.get(UserRow, user_id)
            if row is None:
                raise UserNotFound(user_id)
            return await self._user(s, row)

    async def users(self) -> list[User]:
        async with self._session() as s:
            rows = (await s.scalars(select(UserRow).order_by(UserRow.created_at, UserRow.id))).all()
            return [await self._user(s, r) for r in rows]

    async def update_user(self, user_id: str, change: UserChange) -> User:
        async with self._session() as s, s.begin():
            row = await s.get(UserRow, user_id, with_for_update=True)
            if row is None:
                raise UserNotFound(user_id)
            if change.role is not None:
                row.role = change.role
            if change.all_jobs is not None:
                row.all_jobs = change.all_jobs
            if change.disabled is not None:
                row.disabled = change.disabled
            if change.jobs is not None:
                await self._set_jobs(s, user_id, change.jobs)
        return await self.user(user_id)

    async def grant_job(self, user_id: str, job_id: str) -> None:
        """Adds one job to a user's set (a recruiter's own new job)."""
        async with self._session() as s, s.begin():
            if await s.get(UserJobRow, (user_id, job_id)) is None:
                s.add(UserJobRow(user_id=user_id, job_id=job_id))

    async def add_key(self, user_id: str, expires_at: datetime | None = None) -> tuple[ApiKey, str]:
        """A new key and its text, which is not kept: the caller shows it once."""
        key_id = secrets.token_hex(6)
        text = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        row = ApiKeyRow(
            id=key_id, user_id=user_id, key_hash=key_hash(text), created_at=self.clock(), expires_at=expires_at
        )
        async with self._session() as s, s.begin():
            if await s.get(UserRow, user_id) is None:
                raise UserNotFound(user_id)
            s.add(row)
        return _key_of(row), text

    async def revoke_key(self, user_id: str, key_id: str) -> ApiKey:
        """Revoked from now on; revoking again keeps the first time."""
        async with self._session() as s, s.begin():
            row = await s.get(ApiKeyRow, key_id, with_for_update=True)
            if row is None or row.user_id != user_id:
                raise KeyNotFound(key_id)
            row.revoked_at = row.revoked_at or self.clock()
            return _key_of(row)

    async def principal(self, key: str) -> Principal | None:
        """Who the key belongs to; None for a malformed, unknown, revoked or expired key, or a disabled user."""
        key_id = _parse(key)
        async with self._session() as s:
            row = await s.get(ApiKeyRow, key_id) if key_id is not None else None
            matches = secrets.compare_digest(key_hash(key), row.key_hash if row is not None else _NO_KEY)
            if row is None or not matches or row.revoked_at is not None:
                return None
            if row.expires_at is not None and row.expires_at <= self.clock():
                return None
            user = await s.get(UserRow, row.user_id)
            if user is None or user.disabled:
                return None
            role = Role(user.role)
            if role == Role.ADMIN or user.all_jobs:
                return Principal(user.id, role, None, user.email)
            jobs = (await s.scalars(select(UserJobRow.job_id).where(UserJobRow.user_id == user.id))).all()
            return Principal(user.id, role, frozenset(jobs), user.email)
