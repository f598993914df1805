"""The candidate stream in text mode against a real server: whole interviews, intents, reconnects, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from server_testkit import REPORT_WAIT_S, Api, Stream

BANDS = {"strong", "solid", "developing", "limited", "insufficient_evidence"}


def scenario(fixtures_dir: Path, name: str) -> dict[str, Any]:
    manifest = json.loads((fixtures_dir / name / "manifest.json").read_text())
    job = dict(manifest["scenario"]["job"], questions=[{"text": q} for q in manifest["scenario"]["questions"]])
    return {"job": job, "clips": manifest["clips"]}


def clip(sc: dict[str, Any], **want: Any) -> str | None:
    for c in sc["clips"]:
        if all(c.get(k) == v for k, v in want.items()):
            return str(c["text"])
    return None


async def join(live_server: Any, iv: dict[str, Any], hello: dict[str, Any] | None = None) -> Stream:
    stream = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    await stream.send(hello or {"type": "hello", "mode": "text"})
    return stream


async def play(stream: Stream, sc: dict[str, Any], quality: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Answer every question from the fixture texts as the reference client does; returns questions, report."""
    questions: list[dict[str, Any]] = []
    while True:
        # The report follows the closing answer once every answer is scored; typed answers arrive at once, so
        # here the scoring model judges the whole interview at the end (minutes on a loaded 2-core machine).
        m = await stream.next(REPORT_WAIT_S)
        if m["type"] == "question":
            questions.append(m)
            if m["kind"] == "closing":
                text = clip(sc, role="closing_answer")
            elif m["kind"] == "follow_up":
                text = clip(sc, role="follow_up_answer")
            else:
                text = clip(sc, role="answer", question=m["index"], quality=quality) or clip(
                    sc, role="answer", question=m["index"]
                )
            await stream.send({"type": "answer", "text": text})
        elif m["type"] == "report":
            report = m["report"]
        elif m["type"] == "closed":
            return questions, report


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_a_whole_text_interview_ends_with_a_stored_report(
    live_server: Any, api: Api, fixtures_dir: Path, language: str
) -> None:
    sc = scenario(fixtures_dir, f"backend_{language}")
    iv = await api.interview(sc["job"])
    stream = await join(live_server, iv)
    ready = await stream.next()
    assert ready["type"] == "ready" and ready["session_id"] == iv["id"]
    questions, report = await play(stream, sc, "strong")
    mains = [q for q in questions if q["kind"] == "main"]
    assert [q["text"] for q in mains] == [q["text"] for q in sc["job"]["questions"]]
    assert [q["index"] for q in mains] == list(range(1, len(mains) + 1))
    assert questions[-1]["kind"] == "closing"
    assert [m["type"] for m in stream.received[-2:]] == ["report", "closed"]
    assert all("t" in m for m in stream.received)
    typed = [m["text"] for m in stream.received if m["type"] == "turn_end"]
    assert typed[0] == clip(sc, role="answer", question=1, quality="strong")

    # The candidate's stream carries their view: bands and evidence, nothing meant for HR.
    assert not set(report) & {"overall", "recommendation", "pass_threshold", "weaknesses", "scorer", "answers"}
    assert report["notice"] and {d["band"] for d in report["dimensions"]} <= BANDS
    full = (await api.get(f"/v1/interviews/{iv['id']}/report")).json()
    assert 0 <= full["overall"] <= 10 and full["recommendation"] in ("advance", "hold", "reject")
    scored = [d for d in full["dimensions"] if d["score"] is not None]
    weights = sum(d["weight"] for d in scored)
    assert full["overall"] == pytest.approx(sum(d["score"] * d["weight"] for d in scored) / weights, abs=0.11)
    answers = " ".join(t for t in (clip(sc, role="answer", question=i + 1) for i in range(5)) if t)
    for d in report["dimensions"]:
        for quote in d["evidence"]:
            assert " ".join(quote.split()) in " ".join(
                " ".join(c["text"] for c in sc["clips"]).split()
            ), quote
    assert answers

    hr = await api.get(f"/v1/interviews/{iv['id']}")
    body = hr.json()
    assert body["status"] == "completed" and body["report"] == full
    assert [t["answer"] for t in body["transcript"]][:1] == [clip(sc, role="answer", question=1, quality="strong")]
    mine = await api.get(f"/v1/interviews/{iv['id']}/report", auth=False, token=iv["candidate_token"])
    assert mine.status_code == 200 and mine.json() == report


async def test_strong_answers_score_at_least_two_points_above_weak_ones(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    sc = scenario(fixtures_dir, "backend_en")
    scores = {}
    for quality in ("strong", "weak"):
        iv = await api.interview(sc["job"])
        stream = await join(live_server, iv)
        questions, report = await play(stream, sc, quality)
        full = (await api.get(f"/v1/interviews/{iv['id']}/report")).json()
        scores[quality] = full["overall"]
        if quality == "weak":
            assert any(q["kind"] == "follow_up" for q in questions)
            assert full["weaknesses"] and full["suggestions"] and report["suggestions"]
    assert scores["strong"] >= scores["weak"] + 2, scores


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ({"type": "rephrase"}, "rephrase"),
        ({"type": "repeat"}, "repeat"),
        ({"type": "answer", "text": "Sorry, could you rephrase that?"}, "rephrase"),
        ({"type": "answer", "text": "Could you repeat the question please?"}, "repeat"),
        ({"type": "answer", "text": "我没听懂，能再解释一下吗？"}, "rephrase"),
    ],
    ids=["rephrase-message", "repeat-message", "rephrase-typed", "repeat-typed", "rephrase-typed-zh"],
)
async def test_the_current_question_is_asked_again_on_request(
    live_server: Any, api: Api, fixtures_dir: Path, message: dict[str, Any], kind: str
) -> None:
    sc = scenario(fixtures_dir, "backend_en")
    stream = await join(live_server, await api.interview(sc["job"]))
    first = await stream.until("question")
    await stream.send(message)
    again = await stream.until("question")
    assert again["kind"] == kind and again["question_id"] == first["question_id"] and again["index"] == 1
    if kind == "repeat":
        assert again["text"] == first["text"]
    else:
        assert again["text"] != first["text"]
    await stream.send({"type": "answer", "text": clip(sc, role="answer", question=1, quality="strong")})
    nxt = await stream.until("question")
    assert nxt["kind"] == "main" and nxt["index"] == 2
    await stream.close()


async def test_an_answer_mentioning_repeat_is_still_an_answer(live_server: Any, api: Api, fixtures_dir: Path) -> None:
    sc = scenario(fixtures_dir, "backend_en")
    stream = await join(live_server, await api.interview(sc["job"]))
    await stream.until("question")
    await stream.send({"type": "answer", "text": clip(sc, id="not_request_1")})
    nxt = await stream.until("question")
    # Taken as a (thin) answer, it gets the rules' follow-up on question 1, never a repeat of the question.
    assert (nxt["kind"], nxt["index"]) == ("follow_up", 1), nxt
    await stream.close()


async def test_end_message_closes_with_a_report_of_what_was_said(live_server: Any, api: Api, fixtures_dir: Path) -> None:
    sc = scenario(fixtures_dir, "backend_en")
    iv = await api.interview(sc["job"])
    stream = await join(live_server, iv)
    await stream.until("question")
    await stream.send({"type": "answer", "text": clip(sc, role="answer", question=1, quality="strong")})
    await stream.until("question")
    await stream.send({"type": "end"})
    report = await stream.until("report")
    closed = await stream.until("closed")
    assert closed["reason"] == "candidate_ended"
    assert report["report"]["answered_questions"] == 1
    body = (await api.get(f"/v1/interviews/{iv['id']}")).json()
    assert body["status"] == "completed" and len(body["transcript"]) == 1


async def test_ping_is_answered_even_before_hello(live_server: Any, api: Api, fixtures_dir: Path) -> None:
    iv = await api.interview(scenario(fixtures_dir, "backend_en")["job"])
    stream = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    await stream.send({"type": "ping"})
    assert (await stream.next())["type"] == "pong"
    await stream.send({"type": "hello", "mode": "text"})
    assert (await stream.next())["type"] == "ready"
    await stream.send({"type": "ping"})
    pong = await stream.until("pong")
    assert pong["t"] > 0, "after hello every message carries the session clock"
    await stream.close()


async def expect_error(stream: Stream, code: str, *words: str) -> dict[str, Any]:
    m = await stream.until("error", 10)
    assert m["code"] == code, m
    for w in words:
        assert w in m["message"], m
    return m


@pytest.mark.parametrize(
    ("frame", "code", "words"),
    [
        ("{not json", "bad_message", ["not valid JSON"]),
        ("[1, 2]", "bad_message", ["JSON object"]),
        ('{"text": "no type"}', "bad_message", ["type"]),
        ('{"type": "dance"}', "bad_message", ["unknown message type", "answer"]),
        ('{"type": "answer"}', "bad_message", ["text"]),
        ('{"type": "answer", "text": 5}', "bad_message", ["str"]),
        ('{"type": "answer", "text": "   "}', "bad_message", ["empty"]),
        ('{"type": "hello", "mode": "text"}', "bad_message", ["already"]),
        (b"\x00\x01" * 160, "bad_message", ["text"]),
        ('{"type": "answer", "text": "' + "x" * 70000 + '"}', "too_large", ["bytes"]),
        ('{"type": "answer", "text": "' + "word " * 1000 + '"}', "too_large", ["characters"]),
    ],
    ids=["invalid-json", "not-object", "no-type", "unknown-type", "answer-without-text", "answer-text-not-str",
         "empty-answer", "second-hello", "binary-in-text-mode", "oversized-frame", "answer-too-long"],
)
async def test_bad_frames_get_a_clear_error_and_the_session_goes_on(
    live_server: Any, api: Api, fixtures_dir: Path, frame: str | bytes, code: str, words: list[str]
) -> None:
    sc = scenario(fixtures_dir, "backend_en")
    iv = await api.interview(sc["job"])
    stream = await join(live_server, iv)
    first = await stream.until("question")
    await stream.send(frame)
    await expect_error(stream, code, *words)
    answer = clip(sc, role="answer", question=1, quality="strong")
    await stream.send({"type": "answer", "text": answer})
    nxt = await stream.until("question")
    assert nxt["index"] == 2 and first["index"] == 1
    body = (await api.get(f"/v1/interviews/{iv['id']}")).json()
    assert [t["answer"] for t in body["transcript"]] == [answer]
    await stream.close()


async def test_messages_before_hello_get_errors_until_hello(live_server: Any, api: Api, fixtures_dir: Path) -> None:
    iv = await api.interview(scenario(fixtures_dir, "backend_en")["job"])
    stream = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    await stream.send({"type": "answer", "text": "hi"})
    await expect_error(stream, "bad_message", "hello")
    await stream.send(b"\x00\x00" * 160)
    await expect_error(stream, "bad_message", "hello")
    await stream.send({"type": "hello", "mode": "voice"})
    await expect_error(stream, "unsupported_audio", "audio")
    await stream.send({"type": "hello", "mode": "text"})
    assert (await stream.next())["type"] == "ready"
    await stream.close()


@pytest.mark.parametrize("case", ["no-token", "wrong-token", "observer-token", "other-interview", "unknown-id"])
async def test_joining_without_the_right_token_is_refused(
    live_server: Any, api: Api, fixtures_dir: Path, case: str
) -> None:
    job = scenario(fixtures_dir, "backend_en")["job"]
    iv, other = await api.interview(job), await api.interview(job)
    url = {
        "no-token": f"/v1/interviews/{iv['id']}/stream",
        "wrong-token": f"/v1/interviews/{iv['id']}/stream?token=nope",
        "observer-token": f"/v1/interviews/{iv['id']}/stream?token={iv['observer_token']}",
        "other-interview": f"/v1/interviews/{iv['id']}/stream?token={other['candidate_token']}",
        "unknown-id": f"/v1/interviews/nope/stream?token={iv['candidate_token']}",
    }[case]
    stream = await Stream.open(live_server.ws + url)
    error = await stream.next()
    # An unknown id answers like a wrong token: ids cannot be probed (tests/security/test_security_oracle.py).
    assert error["type"] == "error" and error["code"] == "unauthorized"
    assert (await stream.next())["type"] == "closed"
    body = (await api.get(f"/v1/interviews/{iv['id']}")).json()
    assert body["status"] == "scheduled"


async def test_a_closed_interview_cannot_be_joined_again(live_server: Any, api: Api, fixtures_dir: Path) -> None:
    iv = await api.interview(scenario(fixtures_dir, "backend_en")["job"])
    stream = await join(live_server, iv)
    await stream.until("question")
    await stream.send({"type": "end"})
    await stream.until("closed")
    again = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    error = await again.next()
    assert error["code"] == "session_closed" and "completed" in error["message"]


async def test_a_dropped_connection_resumes_the_same_interview_without_loss(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    sc = scenario(fixtures_dir, "backend_en")
    iv = await api.interview(sc["job"])
    stream = await join(live_server, iv)
    await stream.until("question")
    first_answer = clip(sc, role="answer", question=1, quality="strong")
    await stream.send({"type": "answer", "text": first_answer})
    second = await stream.until("question")
    watcher = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/observe?token={iv['observer_token']}")
    await watcher.replay()
    stream.ws.transport.abort()  # the network drops: no close frame
    await watcher.until("candidate_left")  # the server saw it go: the rejoin below resumes, not replaces

    again = await join(live_server, iv)
    ready = await again.next()
    assert ready["type"] == "ready" and ready["resumed"] is True
    resent = await again.until("question")
    assert resent["question_id"] == second["question_id"] and resent["text"] == second["text"]
    await again.send({"type": "end"})
    await again.until("closed")
    body = (await api.get(f"/v1/interviews/{iv['id']}")).json()
    assert [t["answer"] for t in body["transcript"]] == [first_answer]
    await watcher.close()


async def test_a_second_connection_with_the_same_token_replaces_the_first(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    iv = await api.interview(scenario(fixtures_dir, "backend_en")["job"])
    first = await join(live_server, iv)
    await first.until("question")
    second = await join(live_server, iv)
    closed = await first.until("closed")
    assert "newer connection" in closed["reason"]
    assert (await second.next())["type"] == "ready"
    await second.close()


async def test_after_the_grace_period_the_interview_is_abandoned_and_keeps_its_transcript(
    live_server: Any, api: Api, fixtures_dir: Path
) -> None:
    sc = scenario(fixtures_dir, "backend_en")
    iv = await api.interview(sc["job"])
    stream = await join(live_server, iv)
    await stream.until("question")
    await stream.send({"type": "answer", "text": clip(sc, role="answer", question=1, quality="strong")})
    await stream.until("question")
    await stream.close()
    body = await api.settled(iv["id"])  # after the reconnect grace
    assert body["status"] == "abandoned" and len(body["transcript"]) == 1
    late = await join(live_server, iv)
    error = await late.next()
    assert error["code"] == "session_closed" and "abandoned" in error["message"]
