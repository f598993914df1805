"""The scorer's threads: every core (up to four) while no voice interview listens to a candidate, the setting while
one does."""

from __future__ import annotations

import asyncio
from typing import Any

from server_testkit import Api, Stream

from server.cpu_budget import ScoringThreads
from server.runtime import Runtime

JOB = {"title": "Support Lead", "requirements": ["customer support"], "questions": [{"text": "Why support?"}]}
ANSWER = (
    "Last spring our support queue doubled after a billing bug; I split the team into a triage pair and two fixers, "
    "wrote reply macros with the engineers, and we cleared 900 tickets in four days while keeping satisfaction at 92 %."
)
HELLO = {"type": "hello", "mode": "voice", "audio": {"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1}}


def test_the_scorer_takes_the_idle_cores_and_gives_them_back_while_voice_interviews_run() -> None:
    threads = ScoringThreads.for_setting(1, cores=2)
    assert threads() == 2
    threads.voice_sessions = 1
    assert threads() == 1
    assert ScoringThreads.for_setting(1, cores=16).idle == 4  # llama.cpp gains little beyond four at this size
    assert ScoringThreads.for_setting(3, cores=2).idle == 3  # never fewer than the setting asks for


async def test_a_live_voice_interview_holds_the_scorer_to_its_busy_threads(
    live_server: Any, api: Api, embedded_runtime: Runtime
) -> None:
    threads = embedded_runtime.scoring_threads
    before = threads.voice_sessions
    voice = await api.interview(JOB, mode="voice")
    stream = await Stream.open(f"{live_server.ws}/v1/interviews/{voice['id']}/stream?token={voice['candidate_token']}")
    await stream.send(HELLO)
    await stream.until("question")
    assert threads.voice_sessions == before + 1 and threads() == threads.busy
    typed = await api.interview(JOB, mode="text")
    text = await Stream.open(f"{live_server.ws}/v1/interviews/{typed['id']}/stream?token={typed['candidate_token']}")
    await text.send({"type": "hello", "mode": "text"})
    await text.until("question")
    assert threads.voice_sessions == before + 1  # a typed interview needs no speech recognition
    for s in (stream, text):
        await s.send({"type": "end"})
        await s.until("closed")
        await s.close()
    for _ in range(100):  # the session is forgotten as `closed` goes out; let that finish
        if threads.voice_sessions == before:
            break
        await asyncio.sleep(0.02)
    assert threads.voice_sessions == before


async def test_a_voice_interview_building_its_report_gives_the_scorer_the_idle_cores(
    live_server: Any, api: Api, embedded_runtime: Runtime
) -> None:
    threads = embedded_runtime.scoring_threads
    before = threads.voice_sessions
    voice = await api.interview(JOB, mode="voice")
    stream = await Stream.open(f"{live_server.ws}/v1/interviews/{voice['id']}/stream?token={voice['candidate_token']}")
    await stream.send(HELLO)
    question = await stream.until("question")
    while question["kind"] != "closing":  # typed answers: a voice session takes them too (a keyboard fallback)
        await stream.send({"type": "answer", "text": ANSWER})
        question = await stream.until("question")
    assert threads.voice_sessions == before + 1 and threads() == threads.busy
    # The report waits for the main answer's judgement, which is still being read: meanwhile the session listens
    # to nothing, so the scorer reads with the idle threads.
    await stream.send({"type": "answer", "text": "No, thank you."})
    seen = []
    for _ in range(250):
        seen.append(threads.voice_sessions)
        if threads.voice_sessions == before:
            break
        await asyncio.sleep(0.02)
    assert seen[-1] == before and threads() == threads.idle, seen
    await stream.until("report")
    await stream.until("closed")
    await stream.close()
    assert threads.voice_sessions == before
