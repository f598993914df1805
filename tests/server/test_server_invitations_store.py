"""hr.invitations.Inviter on the real database store (server/db/invitations.py), SQLite and PostgreSQL, on a fake
clock: an invite commits its interviews, invitations, e-mails and `candidate.invited` events together; concurrent
requests with one key write once; a key whose request died is taken over after its lease, a forgotten one reused,
a refused one released; revocation refuses an interview that began.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from test_server_store import plan

from hr.calendar_invite import Person
from hr.invitations import (
    KEY_LEASE,
    KEY_TTL,
    Inviter,
    InviteRequest,
    KeyInProgressError,
    PlannedInvitation,
    UnknownJobError,
    fingerprint,
)
from server.db.invitations import InterviewUnderway, SqlInvitations
from server.db.status import InterviewStatus
from server.db.store import Store, plan_to_json
from server.db.tables import (
    CandidateRow,
    IdempotencyKeyRow,
    InterviewRow,
    InvitationRow,
    JobRow,
    MailRow,
    WebhookEventRow,
)
from server.mail.outbox import MailOutbox, MailState
from server.settings import Settings
from server.webhooks.outbox import WebhookOutbox

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(Settings.from_env({}, api_key="k", database_url=database_url).sqlalchemy_url)
    async with opened.engine.begin() as conn:
        for table in (InvitationRow, MailRow, IdempotencyKeyRow):
            await conn.execute(delete(table))
    yield opened
    await opened.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def invitations(store: Store, clock: FakeClock) -> SqlInvitations:
    webhooks = WebhookOutbox(store, base_url="http://hr.example", clock=clock)
    store.listeners.append(webhooks)
    return SqlInvitations(store, webhooks, MailOutbox(store.engine, vault=store.vault, sending=False, clock=clock))


def inviter(invitations: SqlInvitations, clock: FakeClock) -> Inviter:
    return Inviter(
        invitations,
        clock,
        link_for=lambda invitation: f"http://hr.example/invite/{invitation.id}?token={invitation.token}",
        sender=Person("jobs@acme.example", "Acme"),
        message_domain="acme.example",
    )


async def job_and_candidates(store: Store, n: int) -> tuple[str, list[str]]:
    job = await store.add_job(
        JobRow(
            id=uuid.uuid4().hex,
            title="Backend engineer",
            description="APIs",
            requirements=["Python"],
            language="en",
            pass_threshold=6.0,
            plan=plan_to_json(plan()),
        )
    )
    ids = []
    for i in range(n):
        row = CandidateRow(id=uuid.uuid4().hex, name=f"C{i}", email=f"c{i}@x.example", resume_text=None)
        ids.append((await store.add_candidate(row)).id)
    return job.id, ids


def answer(planned: Sequence[PlannedInvitation]) -> tuple[int, str]:
    return 201, json.dumps([p.invitation.id for p in planned])


async def count(store: Store, table: type, *where: object) -> int:
    async with AsyncSession(store.engine) as s:
        return int(await s.scalar(select(func.count()).select_from(table).where(*where)) or 0)  # type: ignore[arg-type]


async def test_an_invite_commits_its_interviews_invitations_emails_and_events_together(
    store: Store, invitations: SqlInvitations, clock: FakeClock
) -> None:
    job_id, ids = await job_and_candidates(store, 3)
    request = InviteRequest(job_id, tuple(ids), "text", timedelta(days=14))

    result = await inviter(invitations, clock).invite(request, key="k1", body_fingerprint="fp", answer=answer)

    invited = json.loads(result.body)
    assert result.status_code == 201 and not result.replayed and len(invited) == 3
    rows = await invitations.invitations(job_id)
    assert {r.id for r in rows} == set(invited)
    for row in rows:
        interview = await store.interview(row.interview_id)
        assert interview is not None and interview.status == InterviewStatus.SCHEDULED and interview.mode == "text"
        assert interview.plan_version == 1 and row.expires_at == clock.now + timedelta(days=14)
        mail = await invitations.mail.message(row.mail_id or "")
        assert mail.state == MailState.HELD and mail.kind == "invitation"
    events = await count(
        store, WebhookEventRow, WebhookEventRow.dedup_key.in_([f"candidate.invited:{i}" for i in invited])
    )
    assert events == 3


async def test_concurrent_requests_with_one_key_write_once(
    store: Store, invitations: SqlInvitations, clock: FakeClock
) -> None:
    job_id, ids = await job_and_candidates(store, 10)
    request = InviteRequest(job_id, tuple(ids), "voice", timedelta(days=14))
    run = inviter(invitations, clock)

    outcomes = await asyncio.gather(
        *(run.invite(request, key="k-race", body_fingerprint="fp", answer=answer) for _ in range(8)),
        return_exceptions=True,
    )

    done = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(o, KeyInProgressError) for o in refused), refused
    assert refused and done and len({d.body for d in done}) == 1
    assert sum(not d.replayed for d in done) == 1
    assert await count(store, InvitationRow, InvitationRow.job_id == job_id) == 10
    assert await count(store, MailRow) == 10


async def test_a_key_whose_request_died_is_taken_over_after_its_lease(
    store: Store, invitations: SqlInvitations, clock: FakeClock
) -> None:
    job_id, ids = await job_and_candidates(store, 1)
    request = InviteRequest(job_id, tuple(ids), "voice", timedelta(days=14))
    # A node claimed the key and stopped before writing anything.
    assert await invitations.claim_key("k-dead", "fp", clock.now, clock.now + KEY_LEASE) is None
    run = inviter(invitations, clock)

    with pytest.raises(KeyInProgressError):
        await run.invite(request, key="k-dead", body_fingerprint="fp", answer=answer)
    clock.now += KEY_LEASE
    taken = await run.invite(request, key="k-dead", body_fingerprint="fp", answer=answer)

    assert taken.status_code == 201 and not taken.replayed
    assert await count(store, InvitationRow, InvitationRow.job_id == job_id) == 1


async def test_a_forgotten_key_carries_a_new_request_and_a_refused_one_is_released(
    store: Store, invitations: SqlInvitations, clock: FakeClock
) -> None:
    job_id, ids = await job_and_candidates(store, 2)
    run = inviter(invitations, clock)
    first = InviteRequest(job_id, (ids[0],), "voice", timedelta(days=14))
    await run.invite(first, key="k-old", body_fingerprint=fingerprint(b"first"), answer=answer)
    await run.invite(first, key="k-stale", body_fingerprint=fingerprint(b"first"), answer=answer)

    clock.now += KEY_TTL
    second = InviteRequest(job_id, (ids[1],), "voice", timedelta(days=14))
    reused = await run.invite(second, key="k-old", body_fingerprint=fingerprint(b"second"), answer=answer)
    assert not reused.replayed
    assert await count(store, InvitationRow, InvitationRow.job_id == job_id) == 3
    assert await count(store, IdempotencyKeyRow, IdempotencyKeyRow.key == "k-stale") == 0, "forgotten keys are pruned"

    with pytest.raises(UnknownJobError):
        await run.invite(
            InviteRequest("no-job", (ids[0],), "voice", timedelta(days=1)),
            key="k-bad",
            body_fingerprint="fp",
            answer=answer,
        )
    assert await count(store, IdempotencyKeyRow, IdempotencyKeyRow.key == "k-bad") == 0


async def test_revoking_closes_a_scheduled_interview_and_refuses_one_that_began(
    store: Store, invitations: SqlInvitations, clock: FakeClock
) -> None:
    job_id, ids = await job_and_candidates(store, 2)
    request = InviteRequest(job_id, tuple(ids), "voice", timedelta(days=14))
    await inviter(invitations, clock).invite(request, key=None, body_fingerprint="fp", answer=answer)
    waiting, began = sorted(await invitations.invitations(job_id), key=lambda r: r.candidate_id == ids[1])
    await store.set_status(began.interview_id, InterviewStatus.LIVE)

    revoked = await invitations.revoke(waiting.id, clock.now)
    with pytest.raises(InterviewUnderway, match="live"):
        await invitations.revoke(began.id, clock.now)

    assert revoked.revoked_at == clock.now
    closed = await store.interview(waiting.interview_id)
    assert (
        closed is not None and closed.status == InterviewStatus.ABANDONED and closed.end_reason == "invitation_revoked"
    )
    assert (await invitations.invitation(began.id)).revoked_at is None
    live = await store.interview(began.interview_id)
    assert live is not None and live.status == InterviewStatus.LIVE
    abandoned = await count(store, WebhookEventRow, WebhookEventRow.dedup_key == f"interview.abandoned:{closed.id}")
    assert abandoned == 1
    assert await count(store, InterviewRow, InterviewRow.id == waiting.interview_id) == 1
