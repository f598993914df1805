"""The model's wording of follow-ups and rephrasings: validated, timed out, and falling back to templates."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest

import models
from dialogue.llm import ChatMessage, LlamaCppBackend
from dialogue.wording import (
    Worded,
    WordingConfig,
    valid_follow_up,
    valid_rephrase,
    word_follow_up,
    word_rephrase,
)

QUESTION = "Tell me about a microservices project you worked on and the biggest challenge you faced."
TEMPLATE = "What was the result, and how did you measure it?"


@pytest.fixture(scope="module")
async def smollm() -> AsyncIterator[LlamaCppBackend]:
    backend = LlamaCppBackend(models.resolve("smollm2-135m-instruct"))
    yield backend
    await backend.aclose()


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("What was the measurable result of that migration?", True),
        ("The candidate's answer lacks detail.", False),
        ("As an AI, I would ask: what happened next?", False),
        ("Why?", False),
        (QUESTION, False),
        ("后来的结果怎么样？有没有具体的数据？", True),
    ],
)
def test_follow_up_validation(text: str, ok: bool) -> None:
    language = "zh" if "结果" in text else "en"
    assert valid_follow_up(text, language, QUESTION) is ok


def test_a_rephrasing_must_still_ask_the_same_thing() -> None:
    assert valid_rephrase(
        "Can you describe a microservices project of yours and the hardest challenge in it?", "en", QUESTION
    )
    assert not valid_rephrase("What is your favourite programming language?", "en", QUESTION)
    assert not valid_rephrase(QUESTION, "en", QUESTION)
    assert not valid_rephrase("Tell me about microservices", "en", QUESTION)


def test_a_rephrasing_that_keeps_only_the_question_frame_has_drifted() -> None:
    # Half of the question's words, but none of what it is about: SmolLM2 said this for QUESTION.
    assert not valid_rephrase("What was the biggest challenge you faced in your team?", "en", QUESTION)
    assert valid_rephrase("What was the biggest deal you closed, and how did you secure it?", "en",
                          "Tell me about the largest B2B deal you closed: how did you win it?")  # fmt: skip
    zh = "你在微服务项目中遇到的最大挑战是什么？如何解决？"
    assert valid_rephrase("在微服务项目中，你遇到的最大挑战是什么？你是如何解决的？", "zh", zh)
    assert not valid_rephrase("你带领团队达成1000万业绩的过程是什么样的？遇到的最大挑战是什么？", "zh", zh)


async def test_without_a_model_the_template_is_used() -> None:
    worded = await word_follow_up(None, "en", question=QUESTION, answer="It was fine.", gap="the result",
                                  template=TEMPLATE)
    assert worded.text == TEMPLATE and not worded.by_model


# Timeouts have their own test below; here the model always gets to finish, so each outcome is the validator's.
NO_TIMEOUT = WordingConfig(timeout_s=120)


async def test_the_embedded_model_words_a_valid_follow_up(smollm: LlamaCppBackend) -> None:
    worded = await word_follow_up(
        smollm, "en", question=QUESTION, answer="I used microservices in a project. It was fine.",
        gap="the result and how it was measured", template=TEMPLATE, config=NO_TIMEOUT,
    )  # fmt: skip
    assert worded.by_model and worded.text != TEMPLATE
    assert valid_follow_up(worded.text, "en", QUESTION)


async def test_a_rephrasing_that_drifts_off_the_question_is_dropped_for_the_template(
    smollm: LlamaCppBackend, caplog: pytest.LogCaptureFixture
) -> None:
    # The 135M model, greedy, answers this with a question that keeps the frame and drops the subject ("What was the
    # biggest challenge you faced in your team?"): the subject rule must catch it.
    with caplog.at_level(logging.INFO, logger="dialogue.wording"):
        rephrased = await word_rephrase(
            smollm, "en", original=QUESTION, template="Let me put it another way.", config=NO_TIMEOUT
        )
    assert rephrased == Worded("Let me put it another way.", by_model=False)
    assert any("rejected" in r.getMessage() for r in caplog.records), "dropped by the validator, not a timeout"


async def test_a_slow_model_falls_back_to_the_template(smollm: LlamaCppBackend) -> None:
    worded = await word_rephrase(
        smollm, "en", original=QUESTION, template="fallback", config=WordingConfig(timeout_s=0.05, max_tokens=200)
    )
    assert worded.text == "fallback" and not worded.by_model


async def test_an_abandoned_generation_stops_instead_of_blocking_the_next_call(smollm: LlamaCppBackend) -> None:
    count = ChatMessage("user", "Write the numbers from 1 to 2000 separated by commas.")
    long_job = smollm.complete([count], max_tokens=800)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(long_job, timeout=0.3)
    started = time.perf_counter()
    await smollm.complete([ChatMessage("user", "Say hi.")], max_tokens=4)
    # Left running, those 800 tokens would hold the single worker for 6-14 s here (measured); stopped, it is free.
    assert time.perf_counter() - started < 4


@pytest.fixture(scope="module")
async def qwen() -> AsyncIterator[LlamaCppBackend]:
    """The packaged model that words Chinese (SHANMIAN_LLM_WORDING_FALLBACK): SmolLM2-135M cannot."""
    backend = LlamaCppBackend(models.resolve("qwen2.5-coder-1.5b-instruct"), n_threads=1)
    yield backend
    await backend.aclose()


@pytest.mark.timeout(900)  # one short generation by the 1.5B model on a shared 2-core machine
async def test_the_wording_fallback_model_words_a_valid_chinese_follow_up(qwen: LlamaCppBackend) -> None:
    question = "请讲一次你拿下的最大一笔企业订单：你是如何赢得它的？"
    worded = await word_follow_up(
        qwen, "zh", question=question, answer="我们跟一家银行谈了半年，最后签下来了。",
        gap="候选人本人具体做了什么", template="模板", config=NO_TIMEOUT,
    )  # fmt: skip
    assert worded.by_model and valid_follow_up(worded.text, "zh", question), worded.text
