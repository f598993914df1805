"""The observer stream against a real server (in-memory bus): replay then follow, comments, auth, bad frames,
a stuck observer, rate limits, scoring on request, and a session recovered by a restarted server.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import websockets
from server_testkit import (
    REPORT_WAIT_S,
    Api,
    Stream,
    answer_for,
    assert_hr_and_candidate_reports,
    interview_scenario,
    report_views_apart,
)

from server.bus import SUBSCRIBER_BACKLOG, channel_name

OBSERVER_ONLY = ("candidate_joined", "candidate_left", "comment")


async def join(server: Any, iv: dict[str, Any]) -> Stream:
    stream = await Stream.open(f"{server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    await stream.send({"type": "hello", "mode": "text"})
    return stream


async def observe(server: Any, iv: dict[str, Any], token: str | None = None, **kw: Any) -> Stream:
    url = f"{server.ws}/v1/interviews/{iv['id']}/observe"
    if token is not None:
        url += f"?token={token}"
    return Stream(await websockets.connect(url, max_size=2**22, **kw))


async def play_to_end(stream: Stream, clips: list[dict[str, Any]]) -> None:
    while True:
        m = await stream.next(REPORT_WAIT_S)
        if m["type"] == "question":
            await stream.send({"type": "answer", "text": answer_for(clips, m)})
        elif m["type"] == "closed":
            return


def session_events(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("seq")]


async def test_an_observer_joining_midway_gets_the_history_then_live_events_once_each(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    job, clips = interview_scenario(fixtures_dir)
    iv = await api.interview(job)
    candidate = await join(live_server, iv)
    first = await candidate.until("question")
    await candidate.send({"type": "answer", "text": answer_for(clips, first)})
    second = await candidate.until("question")

    observer = await observe(live_server, iv, iv["observer_token"])
    replayed = await observer.replay()
    assert [m["type"] for m in replayed][:3] == ["candidate_joined", "ready", "question"]
    assert replayed[-1] == second, "the history reaches the question the candidate is on"

    await candidate.send({"type": "answer", "text": answer_for(clips, second)})
    await play_to_end(candidate, clips)
    await observer.until("closed")
    seen = [m for m in observer.received if m["type"] != "pong"]
    seqs = [m["seq"] for m in seen]
    assert seqs == list(range(1, len(seqs) + 1)), "every event once, in order"
    # What the candidate got (with a seq) the observer got too, identically, plus the observer-only events; only the
    # report differs: the observer's is HR's, the candidate's their own view.
    candidate_view = session_events(candidate.received)
    observed = [m for m in seen if m["type"] not in OBSERVER_ONLY]
    assert report_views_apart(observed) == report_views_apart(candidate_view)
    assert_hr_and_candidate_reports(observed, candidate_view)
    assert {m["type"] for m in seen} - {m["type"] for m in candidate_view} <= set(OBSERVER_ONLY)
    assert [m["type"] for m in seen][-2:] == ["report", "closed"]
    assert all(m["type"] not in OBSERVER_ONLY for m in candidate.received)

    # The observer token opens only a scheduled or live interview; HR's key replays an ended one.
    late = await observe(live_server, iv, live_server.api_key)
    assert await late.replay() == seen, "a later observer replays the same stream after the interview ended"
    await observer.close()
    await late.close()


async def test_several_observers_see_comments_the_candidate_never_does(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    job, _ = interview_scenario(fixtures_dir)
    iv = await api.interview(job)
    by_token = await observe(live_server, iv, iv["observer_token"])
    by_key = await observe(live_server, iv, live_server.api_key)
    by_header = await observe(live_server, iv, additional_headers={"Authorization": f"Bearer {live_server.api_key}"})
    candidate = await join(live_server, iv)
    await candidate.until("question")

    await by_token.send({"type": "comment", "text": "  Clear start, a bit fast.  "})
    await by_token.take(("comment",), 1)  # stored and sent out: the second comment is now the later one
    await by_key.send({"type": "comment", "text": "Agreed; probe the metrics."})
    for observer in (by_token, by_key, by_header):
        await observer.take(("comment",), 1 if observer is by_token else 2)  # by_token has had the first
        comments = [m for m in observer.received if m["type"] == "comment"]
        assert [(c["author"], c["text"]) for c in comments] == [
            ("observer", "Clear start, a bit fast."),
            ("hr", "Agreed; probe the metrics."),
        ]
        assert all(c["comment_id"] > 0 and c["t"] >= 0 for c in comments)
    await candidate.send({"type": "ping"})
    await candidate.until("pong")
    assert all(m["type"] != "comment" for m in candidate.received)

    body = (await api.get(f"/v1/interviews/{iv['id']}")).json()
    assert [(c["author"], c["text"]) for c in body["comments"]] == [
        ("observer", "Clear start, a bit fast."),
        ("hr", "Agreed; probe the metrics."),
    ]
    # A comment is replayed to an observer who joins later, once.
    later = await observe(live_server, iv, iv["observer_token"])
    assert [m["text"] for m in await later.replay() if m["type"] == "comment"] == [
        "Clear start, a bit fast.",
        "Agreed; probe the metrics.",
    ]
    for s in (by_token, by_key, by_header, later, candidate):
        await s.close()


async def test_an_observer_may_watch_before_the_candidate_arrives(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    iv = await api.interview(interview_scenario(fixtures_dir)[0])
    observer = await observe(live_server, iv, iv["observer_token"])
    assert await observer.replay() == [], "no history yet"
    candidate = await join(live_server, iv)
    await candidate.until("question")
    await observer.until("question")
    await candidate.close()
    await observer.until("candidate_left")
    assert [m["type"] for m in observer.received] == ["pong", "candidate_joined", "ready", "question", "candidate_left"]
    await observer.close()


@pytest.mark.parametrize("case", ["no-token", "wrong-token", "candidate-token", "other-interview", "unknown-id"])
async def test_observing_without_the_right_token_is_refused(
    live_server: Any, api: Api, fixtures_dir: Path, case: str
) -> None:
    job, _ = interview_scenario(fixtures_dir)
    iv, other = await api.interview(job), await api.interview(job)
    target = {**iv, "id": "nope"} if case == "unknown-id" else iv
    token = {
        "no-token": None,
        "wrong-token": "nope",
        "candidate-token": iv["candidate_token"],
        "other-interview": other["observer_token"],
        "unknown-id": iv["observer_token"],
    }[case]
    observer = await observe(live_server, target, token)
    error = await observer.next()
    assert error["type"] == "error" and error["code"] == "unauthorized", "an unknown id too: ids are not probed"
    assert (await observer.next())["type"] == "closed"


@pytest.mark.parametrize(
    ("frame", "code", "words"),
    [
        ("{not json", "bad_message", ["not valid JSON"]),
        ("[1]", "bad_message", ["JSON object"]),
        ('{"text": "no type"}', "bad_message", ["type"]),
        ('{"type": "answer", "text": "I am not the candidate"}', "bad_message", ["unknown message type", "comment"]),
        ('{"type": "comment"}', "bad_message", ["text"]),
        ('{"type": "comment", "text": 7}', "bad_message", ["str"]),
        ('{"type": "comment", "text": "   "}', "bad_message", ["empty"]),
        ('{"type": "comment", "text": "' + "x" * 4001 + '"}', "bad_message", ["4000"]),
        (b"\x00\x01", "bad_message", ["binary"]),
        ('{"type": "comment", "text": "' + "x" * 70000 + '"}', "too_large", ["bytes"]),
    ],
    ids=[
        "invalid-json",
        "not-object",
        "no-type",
        "candidate-message",
        "comment-without-text",
        "text-not-str",
        "empty-comment",
        "comment-too-long",
        "binary",
        "oversized-frame",
    ],
)
async def test_bad_observer_frames_get_a_clear_error_and_the_connection_goes_on(
    live_server: Any, api: Api, fixtures_dir: Path, frame: str | bytes, code: str, words: list[str]
) -> None:
    iv = await api.interview(interview_scenario(fixtures_dir)[0])
    observer = await observe(live_server, iv, iv["observer_token"])
    await observer.send(frame)
    error = await observer.until("error", 5)
    assert error["code"] == code, error
    for w in words:
        assert w in error["message"], error
    await observer.send({"type": "ping"})
    assert (await observer.until("pong", 5))["type"] == "pong"
    body = (await api.get(f"/v1/interviews/{iv['id']}")).json()
    assert body["comments"] == []
    await observer.close()


async def test_a_stuck_observer_neither_stalls_the_session_nor_grows_memory(
    server_factory: Any, fixtures_dir: Path
) -> None:
    server = await server_factory.start(observer_send_timeout_s=1.0)
    api = Api(server.base, server.api_key)
    job, clips = interview_scenario(fixtures_dir)
    iv = await api.interview(job)
    bus = server.app.state.bus
    # max_queue=1: the client stops reading its socket after one message, so the server's sends back up
    # (without compression, which would shrink the flood below the socket buffers).
    stuck = await observe(server, iv, iv["observer_token"], max_queue=1, compression=None)
    candidate = await join(server, iv)
    first = await candidate.until("question")
    assert bus.subscribers(iv["id"]) == 1

    # Flood the channel as a long voice session's partial transcripts would: 24 MB, beyond the socket buffers.
    blob = json.dumps({"type": "transcript", "final": False, "text": "x" * 4000, "start": 0, "end": 0, "t": 0})
    backlog = []
    for i in range(SUBSCRIBER_BACKLOG + 1000):
        bus.plugin.publish(blob.encode(), channel_name(iv["id"]))
        if i % 500 == 0:
            await asyncio.sleep(0)
            backlog.append(bus.backlog(iv["id"]))
    # The session goes on meanwhile: the candidate's next question comes promptly.
    await candidate.send({"type": "answer", "text": answer_for(clips, first)})
    nxt = await candidate.until("question", 5)
    assert (nxt["index"], nxt["kind"]) == (2, "main"), nxt
    assert max(backlog) <= SUBSCRIBER_BACKLOG

    # The stuck observer is dropped after the send timeout, and its backlog with it.
    for _ in range(100):
        if bus.subscribers(iv["id"]) == 0:
            break
        await asyncio.sleep(0.1)
    assert bus.subscribers(iv["id"]) == 0
    # A healthy observer still gets the stream (the history holds the flood, capped at its size).
    healthy = await observe(server, iv, iv["observer_token"], compression=None)
    assert any(m["type"] == "question" for m in await healthy.replay())
    await healthy.close()
    await candidate.close()
    # The stuck peer still holds its TCP connection (as a real one would until keep-alive gives up); uvicorn
    # waits for it at shutdown, so the test lets go of it.
    stuck.ws.transport.abort()
    await server_factory.stop(server)


async def test_stream_messages_beyond_the_rate_limit_are_refused_and_the_session_goes_on(
    server_factory: Any, fixtures_dir: Path
) -> None:
    # Comments have their own, lower limit (test_security_stream_rates.py); raised here to pin the frame limit.
    server = await server_factory.start(
        stream_rate_limit_per_minute=60, stream_rate_limit_burst=5, observer_comments_burst=100
    )
    api = Api(server.base, server.api_key)
    job, clips = interview_scenario(fixtures_dir)
    iv = await api.interview(job)
    candidate = await join(server, iv)  # the hello is frame 1 of 5
    first = await candidate.until("question")
    for _ in range(8):
        await candidate.send({"type": "ping"})
    got = await candidate.take(("pong", "error"), 8)  # each frame gets exactly one answer
    assert [m["type"] for m in got] == ["pong"] * 4 + ["error"] * 4
    assert all(m["code"] == "rate_limited" for m in got[4:])
    await asyncio.sleep(1.1)  # one frame a second refills
    await candidate.send({"type": "answer", "text": answer_for(clips, first)})
    nxt = await candidate.until("question")
    assert (nxt["index"], nxt["kind"]) == (2, "main"), nxt

    observer = await observe(server, iv, iv["observer_token"])
    for i in range(7):
        await observer.send({"type": "comment", "text": f"note {i}"})
    # Five comments go out to every observer, this one included; the two past the burst get an error each.
    got = await observer.take(("comment", "error"), 7)
    assert [m["code"] for m in got if m["type"] == "error"] == ["rate_limited"] * 2
    assert [m["text"] for m in got if m["type"] == "comment"] == [f"note {i}" for i in range(5)]
    await observer.close()
    await candidate.close()
    await server_factory.stop(server)


async def test_rest_calls_beyond_the_rate_limit_get_429_rate_limited(server_factory: Any) -> None:
    server = await server_factory.start(rate_limit_per_minute=3)
    api = Api(server.base, server.api_key)
    codes = [(await api.get("/v1/jobs")).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    refused = await api.get("/v1/jobs")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "RateLimit-Reset" in refused.headers or "ratelimit-reset" in refused.headers
    assert (await api.get("/health", auth=False)).status_code == 200, "health checks are never limited"
    await server_factory.stop(server)


async def test_an_abandoned_interview_can_be_scored_on_request(live_server: Any, api: Api, fixtures_dir: Path) -> None:
    job, clips = interview_scenario(fixtures_dir)
    iv = await api.interview(job)
    refused = await api.post(f"/v1/interviews/{iv['id']}/score", {})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"
    candidate = await join(live_server, iv)
    first = await candidate.until("question")
    await candidate.send({"type": "answer", "text": answer_for(clips, first)})
    await candidate.until("question")
    await candidate.close()
    body = await api.settled(iv["id"])  # after the reconnect grace
    assert body["status"] == "abandoned" and body["report"] is None

    assert (await api.post(f"/v1/interviews/{iv['id']}/score", {}, auth=False)).status_code == 401
    assert (await api.post("/v1/interviews/nope/score", {})).status_code == 404
    scored = await api.post(f"/v1/interviews/{iv['id']}/score", {})
    assert scored.status_code == 200, scored.text
    report = scored.json()
    assert report["answered_questions"] == 1 and 0 <= report["overall"] <= 10
    assert (await api.get(f"/v1/interviews/{iv['id']}")).json()["report"] == report
    assert (await api.get(f"/v1/interviews/{iv['id']}/report")).json() == report


async def test_an_interview_live_when_its_server_died_is_resumed_by_a_new_one(
    server_factory: Any, fixtures_dir: Path
) -> None:
    job, clips = interview_scenario(fixtures_dir)
    first_server = await server_factory.start()
    api = Api(first_server.base, first_server.api_key)
    iv = await api.interview(job)
    candidate = await join(first_server, iv)
    answers = []
    for _ in range(2):
        q = await candidate.until("question")
        answers.append(answer_for(clips, q))
        await candidate.send({"type": "answer", "text": answers[-1]})
    pending = await candidate.until("question")
    candidate.ws.transport.abort()
    await server_factory.stop(first_server)  # the process is gone; its memory with it

    second = await server_factory.start()
    api2 = Api(second.base, second.api_key)
    body = (await api2.get(f"/v1/interviews/{iv['id']}")).json()
    assert body["status"] == "live" and [t["answer"] for t in body["transcript"]] == answers
    again = await join(second, iv)
    ready = await again.next()
    assert ready["type"] == "ready" and ready["resumed"] is True
    resent = await again.until("question")
    assert (resent["question_id"], resent["index"]) == (pending["question_id"], pending["index"])
    if pending["kind"] != "follow_up":  # a model-worded follow-up is asked again from its template
        assert resent["text"] == pending["text"]
    await play_to_end_from(again, clips, resent)
    done = (await api2.get(f"/v1/interviews/{iv['id']}")).json()
    assert done["status"] == "completed" and done["report"] is not None
    assert [t["answer"] for t in done["transcript"]][:2] == answers
    assert [t["seq"] for t in done["transcript"]] == list(range(1, len(done["transcript"]) + 1))
    await server_factory.stop(second)


async def play_to_end_from(stream: Stream, clips: list[dict[str, Any]], question: dict[str, Any]) -> None:
    await stream.send({"type": "answer", "text": answer_for(clips, question)})
    await play_to_end(stream, clips)
