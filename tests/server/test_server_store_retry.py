"""A database that fails for a moment while a turn ends (a SQLite file locked by another process, PostgreSQL
connections terminated by the server): the write is retried, the answer is stored once, and the candidate gets the
next question. Real databases, a real interviewer, the live session's own code path."""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from transport_testkit import MemoryTransport, memory_pair

from dialogue.interviewer import Interviewer, InterviewerModels
from dialogue.plan import InterviewPlan, Requisition, build_plan
from dialogue.session import AnswerFinished
from server.bus import Bus, make_bus
from server.db import migrate
from server.db.retry import is_transient
from server.db.store import Store, plan_to_json
from server.db.tables import CandidateRow, InterviewRow, JobRow
from server.settings import Settings
from server.stream.live import LiveInterview
from server.stream.transport import Connection

ANSWER = (
    "I led the move of our billing service to PostgreSQL: I wrote the plan, ran the dual writes for two weeks, "
    "and we switched over on a quiet Sunday with no lost invoices."
)

# Another process holds SQLite's write lock for `seconds`, as a node running a long transaction on the same file
# would; it says "locked" once it holds it.
LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    bus = make_bus(Settings.from_env({}, api_key="k"))
    async with bus.plugin:
        yield bus


async def _open(engine: AsyncEngine) -> tuple[Store, str]:
    """A store on `engine`, holding one scheduled text interview; the store and the interview's id."""
    await migrate.upgrade(engine)
    store = Store(engine)
    plan = _plan()
    ids = uuid.uuid4().hex[:12]
    await store.add_job(JobRow(id=f"job-{ids}", title="Backend engineer", description="", requirements=["SQL"],
                               language="en", pass_threshold=6.0, plan=plan_to_json(plan)))  # fmt: skip
    await store.add_candidate(CandidateRow(id=f"cand-{ids}", name="Ada", email=None, resume_text=None))
    await store.add_interview(InterviewRow(id=f"iv-{ids}", job_id=f"job-{ids}", candidate_id=f"cand-{ids}",
                                           mode="text", status="scheduled", candidate_token=f"c-{ids}",
                                           observer_token=f"o-{ids}"))  # fmt: skip
    return store, f"iv-{ids}"


def _plan() -> InterviewPlan:
    return build_plan(Requisition("Backend engineer", "", ("Python", "SQL"), "en"))


async def _interview_through_a_failing_database(
    store: Store, interview_id: str, bus: Bus, fail: Callable[[], Awaitable[None]], caplog: pytest.LogCaptureFixture
) -> None:
    """Start the interview, make the database fail (`fail` returns once it does), answer the first question; the
    answer must be stored exactly once, after at least one retry, and the next question must reach the candidate."""
    live = LiveInterview(
        interview_id, _plan(), Interviewer(_plan(), InterviewerModels()), store=store, channels=bus.plugin,
        grace_s=60, on_end=lambda _: None,
    )  # fmt: skip
    server, candidate = memory_pair()
    try:
        await live.attach(Connection(server))
        await live.begin()
        first = await candidate.message()
        assert first["type"] == "question"

        await fail()
        with caplog.at_level(logging.WARNING, logger="server.db.retry"):
            await live.submit(AnswerFinished(ANSWER))
        retries = [r for r in caplog.records if "transient database error" in r.getMessage()]
        assert retries, "the first write did not fail: the test proved nothing"
        assert ANSWER not in caplog.text  # the failed statement's parameters stay out of the log

        turns = await store.turns(interview_id)
        assert [(t.seq, t.question_id, t.answer) for t in turns] == [(1, first["question_id"], ANSWER)]
        assert await _next_question(candidate, first)
    finally:
        await live.shutdown()


async def _next_question(candidate: MemoryTransport, first: dict[str, object]) -> bool:
    while True:
        message = await candidate.message(seconds=5.0)
        if message["type"] == "question":
            return message["question_id"] != first["question_id"] or message["text"] != first["text"]


async def test_a_turn_ending_while_another_process_locks_the_sqlite_file_is_stored_and_the_interview_goes_on(
    tmp_path: Path, bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "shanmian.db"
    # A short busy timeout (a node's is 30 s) so that the lock below makes writes fail within the test's time.
    engine = create_async_engine(f"sqlite+aiosqlite:///{database}", connect_args={"timeout": 0.1})
    store, interview_id = await _open(engine)
    locker: asyncio.subprocess.Process | None = None

    async def lock_the_file() -> None:
        nonlocal locker
        locker = await asyncio.create_subprocess_exec(
            sys.executable, "-c", LOCKER, str(database), "1.5", stdout=asyncio.subprocess.PIPE
        )
        assert locker.stdout is not None
        assert (await asyncio.wait_for(locker.stdout.readline(), 30)).strip() == b"locked"
        # The lock is real: a write without the retry fails at once.
        with pytest.raises(OperationalError, match="database is locked") as failed:
            await store.audit("test", "probe")
        assert is_transient(failed.value)

    try:
        await _interview_through_a_failing_database(store, interview_id, bus, lock_the_file, caplog)
        assert locker is not None and await locker.wait() == 0
    finally:
        await store.close()


@pytest.mark.postgres
async def test_a_turn_ending_while_postgres_drops_the_connections_is_stored_and_the_interview_goes_on(
    postgres_database: str, bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    application = f"shanmian-retry-{uuid.uuid4().hex[:8]}"
    url = Settings.from_env({}, api_key="k", database_url=postgres_database).sqlalchemy_url
    engine = create_async_engine(url, connect_args={"server_settings": {"application_name": application}})
    store, interview_id = await _open(engine)
    admin = await asyncpg.connect(postgres_database)

    async def terminate() -> int:
        killed: int = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", application
        )
        return killed

    async def drop_the_connections() -> None:
        assert await terminate() >= 1
        # The drop is real: a write without the retry fails.
        with pytest.raises(DBAPIError) as failed:
            await store.audit("test", "probe")
        assert is_transient(failed.value)
        await store.turns("none")  # a healthy connection back in the pool ...
        assert await terminate() == 1  # ... dropped too: the turn's first write meets a dead connection

    try:
        await _interview_through_a_failing_database(store, interview_id, bus, drop_the_connections, caplog)
    finally:
        await admin.close()
        await store.close()
