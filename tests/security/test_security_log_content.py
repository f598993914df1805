"""Issue 14, Low: candidates' answers and the models' text stay out of the logs at INFO. A real typed interview,
with the embedded models wording questions and scoring, runs against a real server while every log record of the
process is captured at INFO: none of the candidate's distinctive words, and none of the questions the model worded
from them, is in any record.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from server_testkit import Api, Stream

# Words no template, prompt or log line of the project contains: any of them in a log came from the answers.
DISTINCTIVE = ("Quetzalcoatlus", "zymurgic", "Brobdingnagian", "snorkelwasp")
ANSWERS = (
    "I built the Quetzalcoatlus billing service in Python and PostgreSQL; zymurgic load tests before each release "
    "kept its p99 latency under 200 ms.",
    "We measured it with Prometheus: a Brobdingnagian dashboard, and the snorkelwasp alert paged us on errors.",
)
JOB = {
    "title": "Backend Engineer",
    "requirements": ["Python", "PostgreSQL"],
    "questions": [{"text": "Tell me about a service you built."}, {"text": "How did you know it worked?"}],
}


@pytest.mark.timeout(600)
async def test_a_typed_interview_leaves_no_candidate_words_or_model_text_in_the_info_logs(
    live_server: Any, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # every logger of the server, which runs in this process
    iv = await api.interview(JOB, mode="text")
    stream = await Stream.open(f"{live_server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    questions: list[dict[str, Any]] = []
    try:
        await stream.send({"type": "hello", "mode": "text", "ai_notice": True})
        answered = 0
        while True:
            (message,) = await stream.take(("question", "report"), 1)
            if message["type"] == "report":
                break
            questions.append(message)
            await stream.send({"type": "answer", "text": ANSWERS[min(answered, len(ANSWERS) - 1)]})
            answered += 1
        await stream.until("closed", 60)
    finally:
        await stream.close()
    await api.poll(f"/v1/interviews/{iv['id']}", lambda b: b["report"] is not None)
    transcript = (await api.get(f"/v1/interviews/{iv['id']}")).json()["transcript"]
    assert "Quetzalcoatlus" in transcript[0]["answer"], "the words reached the server"

    logged = "\n".join(
        r.getMessage() + (f"\n{r.exc_text}" if r.exc_text else "") for r in caplog.records if r.levelno >= logging.INFO
    )
    assert logged, "records were captured"
    for word in DISTINCTIVE:
        assert re.search(word, logged, re.IGNORECASE) is None, f"{word!r} is in an INFO log record"
    given = {"Tell me about a service you built.", "How did you know it worked?"}
    worded = [q["text"] for q in questions if q["text"] not in given]
    for text in worded:
        assert text not in logged, f"the model's question {text!r} is in an INFO log record"
