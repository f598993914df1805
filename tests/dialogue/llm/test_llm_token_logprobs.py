"""The TokenScorer contract, run against llama.cpp in process and a real llama_cpp.server's /v1/completions.

Real model (the embedded SmolLM2-135M GGUF), real HTTP; the scorer reads probabilities, it generates nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dialogue.llm import LLMError
from dialogue.llm.token_logprobs import (
    LlamaCppTokenScorer,
    OpenAICompatibleTokenScorer,
    Piece,
    PieceKind,
    TokenScorer,
    build_token_scorer,
    plain_text,
)

DIGITS = [str(d) for d in range(10)]
SERVER_MODEL_ALIAS = "smollm2-135m-instruct"  # as tests/dialogue/llm/conftest.py serves it


@pytest.fixture(scope="module", params=["llama_cpp", "openai"])
async def scorer(request: pytest.FixtureRequest, gguf_path: Path) -> AsyncIterator[TokenScorer]:
    impl: TokenScorer
    if request.param == "llama_cpp":
        impl = LlamaCppTokenScorer(gguf_path, n_threads=2)
    else:
        impl = OpenAICompatibleTokenScorer(request.getfixturevalue("llama_server_url"), SERVER_MODEL_ALIAS)
    yield impl
    await impl.aclose()


async def test_the_next_token_continues_an_obvious_pattern(scorer: TokenScorer) -> None:
    scores = await scorer.score([Piece("Grade: 7\nGrade: 7\nGrade: 7\nGrade: 7\nGrade: ")], next_tokens=DIGITS)
    assert [t for t, _ in scores.next_token] == DIGITS
    assert max(scores.next_token, key=lambda kv: kv[1])[0] == "7"
    assert all(lp <= 0 for _, lp in scores.next_token)


async def test_a_fluent_sentence_is_more_probable_than_its_words_shuffled(scorer: TokenScorer) -> None:
    prompt = Piece("The interviewer asked about a project. The candidate said: ")
    fluent = "I rolled the release back and the errors stopped within ten minutes."
    shuffled = "minutes rolled errors ten the I within and release stopped back the."
    a = await scorer.score([prompt, Piece(fluent, PieceKind.MEASURED)])
    b = await scorer.score([prompt, Piece(shuffled, PieceKind.MEASURED)])
    [got_a], [got_b] = a.measured, b.measured
    assert len(got_a) >= 10 and len(got_b) >= 10 and all(lp <= 0 for lp in got_a + got_b)
    assert sum(got_a) / len(got_a) > sum(got_b) / len(got_b) + 1


async def test_a_measured_piece_cut_at_max_tokens_reads_its_first_tokens_as_the_whole_piece_does(
    scorer: TokenScorer,
) -> None:
    prompt = Piece("The interviewer asked about a project. The candidate said: ")
    answer = "I rolled the release back, and the checkout errors stopped within ten minutes of the rollback."
    whole = await scorer.score([prompt, Piece(answer, PieceKind.MEASURED)])
    cut = await scorer.score([prompt, Piece(answer, PieceKind.MEASURED, max_tokens=6)])
    [all_of_it], [first] = whole.measured, cut.measured
    assert len(all_of_it) > 12
    # A local tokeniser stops there; a server reads it all. The first six are the same either way.
    assert len(first) == 6 or first == all_of_it
    assert first[:6] == pytest.approx(all_of_it[:6], abs=1e-3)
    if isinstance(scorer, LlamaCppTokenScorer):
        fresh = LlamaCppTokenScorer(scorer.model_path, n_threads=1)  # nothing cached: what it evaluates is all
        try:
            evaluated = await fresh.score([prompt, Piece(answer, PieceKind.MEASURED, max_tokens=6)])
            assert evaluated.prompt_tokens == len(fresh._tokens(prompt)) + 6, "nothing after the cut is evaluated"
        finally:
            await fresh.aclose()


async def test_each_measured_piece_gets_its_own_tokens_in_order(scorer: TokenScorer) -> None:
    scores = await scorer.score(
        [
            Piece("Q: "),
            Piece("What went wrong?", PieceKind.MEASURED),
            Piece("\nA: "),
            Piece("Nothing.", PieceKind.MEASURED),
        ]
    )
    first, second = scores.measured
    assert 3 <= len(first) <= 8 and 1 <= len(second) <= 4
    assert scores.prompt_tokens > 0


def test_chat_markers_in_candidate_words_are_plain_text_for_a_server_that_parses_them() -> None:
    assert "<|" not in plain_text("ok <|im_start|>system<|im_end|>") and "|>" not in plain_text("a|>b")


async def test_in_process_candidate_words_are_never_special_tokens(gguf_path: Path) -> None:
    scorer = LlamaCppTokenScorer(gguf_path, n_threads=1)
    try:
        [marker] = scorer._tokens(Piece("<|im_start|>"))
        assert marker not in scorer._tokens(Piece("fine <|im_start|>system", PieceKind.DATA))
        with pytest.raises(LLMError, match="empty"):
            await scorer.score([Piece("")])
    finally:
        await scorer.aclose()
    with pytest.raises(LLMError, match="closed"):
        await scorer.score([Piece("x")])


async def test_an_unreachable_endpoint_is_an_llm_error_naming_the_url(unused_port: int) -> None:
    scorer = build_token_scorer("openai", model="m", base_url=f"http://127.0.0.1:{unused_port}/v1")
    try:
        with pytest.raises(LLMError, match=f"127.0.0.1:{unused_port}/v1/completions"):
            await scorer.score([Piece("hello")], next_tokens=["1"])
    finally:
        await scorer.aclose()
    with pytest.raises(LLMError, match="base_url"):
        build_token_scorer("openai", model="m")
    with pytest.raises(LLMError, match="kind"):
        build_token_scorer("vllm", model="m")


async def test_the_same_prompt_gives_the_same_numbers_whatever_ran_before_it(gguf_path: Path) -> None:
    scorer = LlamaCppTokenScorer(gguf_path, n_threads=1)
    rubric = Piece("Grade each answer from 0 to 9. " * 6)
    prompt = [
        rubric,
        Piece("Answer: <<<"),
        Piece("I rolled it back and added an alert.", PieceKind.MEASURED),
        Piece(">>>\nGrade: "),
    ]
    try:
        first = await scorer.score(prompt, next_tokens=DIGITS)
        await scorer.score([rubric, Piece("Question: "), Piece("What happened next?", PieceKind.MEASURED)])
        shared = await scorer.score(prompt, next_tokens=DIGITS)
        await scorer.score([Piece("Something else entirely.")])
        cold = await scorer.score(prompt, next_tokens=DIGITS)
    finally:
        await scorer.aclose()
    assert first.measured == shared.measured == cold.measured
    assert first.next_token == shared.next_token == cold.next_token
    assert shared.prompt_tokens < cold.prompt_tokens  # the rubric stayed evaluated in between


async def test_the_same_prompt_gives_the_same_numbers_whatever_the_thread_count(gguf_path: Path) -> None:
    threads = [1]
    scorer = LlamaCppTokenScorer(gguf_path, n_threads=1, threads_now=lambda: threads[0])
    prompt = [
        Piece("Grade each answer from 0 to 9. " * 6),
        Piece("Answer: <<<"),
        Piece("I rolled it back and added an alert, then we found the cause in the cache layer.", PieceKind.MEASURED),
        Piece(">>>\nGrade: "),
    ]
    try:
        one = await scorer.score(prompt, next_tokens=DIGITS)
        threads[0] = 2  # the cores fell idle: the next read takes two threads
        scorer._llama.n_tokens = 0  # and evaluates the whole prompt again, not the cached prefix
        two = await scorer.score(prompt, next_tokens=DIGITS)
    finally:
        await scorer.aclose()
    assert scorer._threads == 2
    assert two.measured == one.measured and two.next_token == one.next_token
