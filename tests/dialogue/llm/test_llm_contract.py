"""The contract every LLMBackend meets, run against llama.cpp in process and a real OpenAI-compatible server.

Real model (the embedded SmolLM2-135M GGUF), real HTTP; nothing here is faked.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from dialogue.llm import (
    ChatMessage,
    LLMBackend,
    capped_string_schema,
    generate_structured,
    object_schema,
    score_schema,
)

COMMENT_CAP = 40
JUDGE_SCHEMA = object_schema({"score": score_schema(0, 10), "comment": capped_string_schema(COMMENT_CAP)})


def ask(text: str) -> list[ChatMessage]:
    return [
        ChatMessage("system", "You are a job interviewer. Be brief."),
        ChatMessage("user", text),
    ]


def judge(answer: str) -> list[ChatMessage]:
    return ask(f"Rate this interview answer from 0 to 10 and comment briefly, as JSON.\nAnswer: {answer}")


def check_judgement(value: Any) -> dict[str, Any]:
    """A validator of the kind callers write: raises on anything off-schema."""
    if not isinstance(value, dict) or set(value) != {"score", "comment"}:
        raise ValueError(f"wrong keys: {value!r}")
    if type(value["score"]) is not int or not 0 <= value["score"] <= 10:
        raise ValueError(f"score out of range: {value['score']!r}")
    if not isinstance(value["comment"], str) or len(value["comment"]) > COMMENT_CAP:
        raise ValueError(f"bad comment: {value['comment']!r}")
    return value


async def test_is_an_llm_backend(backend: LLMBackend) -> None:
    assert isinstance(backend, LLMBackend)
    assert backend.name


async def test_plain_completion_returns_text(backend: LLMBackend) -> None:
    completion = await backend.complete(
        ask("The candidate said they fixed a billing bug. Ask one follow-up question."), max_tokens=40
    )
    assert completion.text.strip()
    assert completion.prompt_tokens > 10
    assert 0 < completion.completion_tokens <= 40
    assert completion.seconds > 0
    assert completion.finish_reason in ("stop", "length")


async def test_max_tokens_and_stop_are_honoured(backend: LLMBackend) -> None:
    capped = await backend.complete(ask("Write a long story about a cat."), max_tokens=5)
    assert capped.completion_tokens <= 5
    assert capped.finish_reason == "length"
    stopped = await backend.complete(
        ask("Count from 1 to 20, separated by commas."), max_tokens=60, stop=["7"]
    )
    assert "7" not in stopped.text


async def test_same_prompt_gives_same_text(backend: LLMBackend) -> None:
    messages = ask("The candidate said they led a migration to PostgreSQL. Ask about the outcome.")
    first = await backend.complete(messages, max_tokens=40)
    await backend.complete(ask("Say hello."), max_tokens=8)  # something else in between, as in real use
    second = await backend.complete(messages, max_tokens=40)
    assert first.text == second.text


async def test_structured_call_returns_json_valid_against_the_schema(backend: LLMBackend) -> None:
    answers = [
        "I cut the API latency by 40% by adding a Redis cache, measured over two weeks.",
        "I don't know.",
        "We had an outage; I wrote the postmortem and added alerts; no outage since.",
    ]
    for answer in answers:
        completion = await backend.complete(judge(answer), max_tokens=80, json_schema=JUDGE_SCHEMA)
        check_judgement(json.loads(completion.text, strict=False))


async def test_generate_structured_returns_the_validated_value(backend: LLMBackend) -> None:
    value = await generate_structured(
        backend, judge("I shipped the feature a week early."), JUDGE_SCHEMA, check_judgement, max_tokens=80
    )
    assert value is not None
    assert value["score"] in range(11)


async def test_generate_structured_returns_none_when_the_validator_rejects(backend: LLMBackend) -> None:
    def reject(value: Any) -> dict[str, Any]:
        raise ValueError("never good enough")

    assert await generate_structured(backend, judge("Fine."), JUDGE_SCHEMA, reject, max_tokens=80) is None
    assert (
        await generate_structured(backend, judge("Fine."), JUDGE_SCHEMA, lambda v: None, max_tokens=80)
        is None
    )


async def test_a_completion_does_not_block_the_event_loop(backend: LLMBackend) -> None:
    gaps: list[float] = []

    async def tick() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    try:
        completion = await backend.complete(
            ask("Describe a good code review in three sentences."), max_tokens=48
        )
    finally:
        ticker.cancel()
    assert completion.seconds > 0.1, "too quick to tell"
    # Blocking the loop for the call would show as one gap as long as the call; the slack is for a busy
    # machine descheduling the loop now and then, which is not what this test is about.
    assert max(gaps) < completion.seconds / 2, f"stalled {max(gaps):.3f}s of {completion.seconds:.3f}s"
    assert len(gaps) >= completion.seconds / 0.05


async def test_concurrent_calls_are_serialised_safely(backend: LLMBackend) -> None:
    prompts = [
        ask("The candidate built a CI pipeline. Ask one follow-up question."),
        ask("The candidate mentored two juniors. Ask one follow-up question."),
        ask("The candidate reduced cloud costs. Ask one follow-up question."),
    ]
    sequential = [(await backend.complete(p, max_tokens=24)).text for p in prompts]
    concurrent = await asyncio.gather(*(backend.complete(p, max_tokens=24) for p in prompts))
    # Interleaved calls on one llama context would corrupt each other; serialised ones match one by one.
    assert [c.text for c in concurrent] == sequential
    assert all(sequential)
