"""Issue 14, Medium 8: interviews' and invitations' tokens are not stored in plain text, against real servers on
SQLite and PostgreSQL. A copy of the database holds none of the tokens a candidate, an observer or an invitation link
carries, nor the links inside the stored e-mails and replayable invitation answers, while every token still works.
A node with another key refuses to start; a node with the same key opens what the first sealed; tokens stored in
plain text by an older version are sealed when a node starts and keep working.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from security_testkit import database_text, hr, schedule, start_in_process, start_process
from server_testkit import SUITE_TOKEN_KEY
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from server.db.tables import InterviewRow
from server.settings import Settings

LEGACY = "plain-token-of-an-older-version-0123"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of this test's own: a node's key is recorded in it on its first start."""
    if request.param == "postgres":
        return str(request.getfixturevalue("fresh_postgres"))
    return f"sqlite:///{tmp_path / 'shared.db'}"


def _sqlalchemy_url(database_url: str) -> str:
    return Settings.from_env({}, api_key="k", database_url=database_url).sqlalchemy_url


def _token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


async def _opens_join_page(base: str, interview_id: str, token: str) -> int:
    async with httpx.AsyncClient(base_url=base) as c:
        return (await c.get(f"/join/{interview_id}/info", params={"token": token})).status_code


@pytest.fixture
async def hr_client(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    server = await start_in_process(tmp_path / "node", database_url=database_url)
    async with httpx.AsyncClient(base_url=server.base, headers=hr(), timeout=60) as c:
        yield c, server.base
    await server.stop()


async def test_a_copy_of_the_database_holds_no_token_and_every_token_still_works(
    hr_client: tuple[httpx.AsyncClient, str], database_url: str
) -> None:
    c, base = hr_client
    iv = await schedule(base)
    cand = await c.post("/v1/candidates", json={"name": "Ada Lovelace", "email": "ada@example.org"})
    body = {"job_id": iv["job_id"], "candidate_id": cand.json()["id"]}
    created = await c.post("/v1/invitations", json=body, headers={"Idempotency-Key": "tokens-at-rest"})
    assert created.status_code == 201, created.text
    replayed = await c.post("/v1/invitations", json=body, headers={"Idempotency-Key": "tokens-at-rest"})
    assert replayed.json() == created.json(), "the stored answer is opened for the replay"
    (invitation,) = created.json()["invitations"]
    assert (await c.get(f"/v1/invitations/{invitation['id']}")).json()["link"] == invitation["link"]
    mail = await c.get(f"/v1/mail/{invitation['mail_id']}")
    assert invitation["link"] in mail.json()["text"], "the held e-mail is opened for HR to hand on"
    followed = await c.get(invitation["link"], headers={})
    assert followed.status_code == 303, followed.text
    invited_token = _token_of(followed.headers["location"])

    assert await _opens_join_page(base, iv["id"], iv["candidate_token"]) == 200
    assert await _opens_join_page(base, invitation["interview_id"], invited_token) == 200
    async with httpx.AsyncClient(base_url=base) as anonymous:
        ticket = await anonymous.post(f"/v1/interviews/{iv['id']}/observer-ticket", headers=hr(iv["observer_token"]))
    assert ticket.status_code == 201, "the observer token opens too"

    copy = await database_text(_sqlalchemy_url(database_url))
    assert iv["id"] in copy and invitation["id"] in copy, "the scan reads the rows"
    tokens = [iv["candidate_token"], iv["observer_token"], _token_of(invitation["link"]), invited_token]
    assert [t for t in tokens if t in copy] == []


async def test_a_node_with_another_key_refuses_to_start_and_one_with_the_key_opens_the_tokens(
    database_url: str, tmp_path: Path
) -> None:
    for node in "abc":
        (tmp_path / node).mkdir()
    first = await start_process(tmp_path / "a", DATABASE_URL=database_url)
    try:
        iv = await schedule(first.base)
    finally:
        await first.stop()

    with pytest.raises(RuntimeError) as refused:
        await start_process(tmp_path / "b", DATABASE_URL=database_url, SHANMIAN_TOKEN_KEY="another-key-" + "x" * 32)
    assert "give every node the same SHANMIAN_TOKEN_KEY" in str(refused.value)

    same = await start_process(tmp_path / "c", DATABASE_URL=database_url, SHANMIAN_TOKEN_KEY=SUITE_TOKEN_KEY)
    try:
        assert await _opens_join_page(same.base, iv["id"], iv["candidate_token"]) == 200
    finally:
        await same.stop()


async def test_a_token_stored_in_plain_text_is_sealed_when_a_node_starts_and_keeps_working(
    database_url: str, tmp_path: Path
) -> None:
    before = await start_in_process(tmp_path / "old", database_url=database_url)
    try:
        iv = await schedule(before.base)
    finally:
        await before.stop()
    engine = create_async_engine(_sqlalchemy_url(database_url))
    try:
        async with engine.begin() as conn:  # as an older version stored it
            await conn.execute(update(InterviewRow).where(InterviewRow.id == iv["id"]).values(candidate_token=LEGACY))
    finally:
        await engine.dispose()
    assert LEGACY in await database_text(_sqlalchemy_url(database_url))

    after = await start_in_process(tmp_path / "new", database_url=database_url)
    try:
        assert LEGACY not in await database_text(_sqlalchemy_url(database_url))
        assert await _opens_join_page(after.base, iv["id"], LEGACY) == 200
        assert await _opens_join_page(after.base, iv["id"], iv["candidate_token"]) == 401, "it was replaced"
    finally:
        await after.stop()
