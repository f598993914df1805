"""Rephrase and repeat requests in English and Chinese, and answers that only mention the cue words."""

from __future__ import annotations

import pytest

from dialogue.intents import Intent, detect_intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Sorry, could you rephrase the question?", Intent.REPHRASE),
        ("I'm not sure I understand what you mean. Can you explain that differently?", Intent.REPHRASE),
        ("What do you mean?", Intent.REPHRASE),
        ("Could you put it another way?", Intent.REPHRASE),
        ("Could you repeat the question please?", Intent.REPEAT),
        ("Sorry, I didn't catch that.", Intent.REPEAT),
        ("Can you say that again?", Intent.REPEAT),
        ("这个问题我没听懂，能再解释一下吗？", Intent.REPHRASE),
        ("能换个说法吗", Intent.REPHRASE),
        ("不好意思，能再说一遍吗？", Intent.REPEAT),
        ("我没听清，请重复一下问题", Intent.REPEAT),
    ],
)
def test_requests_are_recognised(text: str, intent: Intent) -> None:
    assert detect_intent(text, "en") is intent
    assert detect_intent(text, "zh") is intent


@pytest.mark.parametrize(
    "text",
    [
        "We had to repeat the load test many times, and I explained the results to my manager.",
        "No, thank you. I have no more questions.",
        "I don't really remember a specific time.",
        "I used microservices in a project. It was fine. There were some problems but we fixed them.",
        "结果是错误率降低了一半，团队之后一直沿用这个流程。",
        "",
        "   ",
    ],
)
def test_answers_are_not_requests(text: str) -> None:
    assert detect_intent(text, "en") is None


def test_a_long_answer_that_mentions_rephrasing_is_an_answer() -> None:
    text = (
        "When the client did not understand our proposal, I had to rephrase the whole design document in plain "
        "words and walk them through it twice, which got the contract signed."
    )
    assert detect_intent(text, "en") is None
