"""The model's wording of follow-ups and rephrasings, validated, with the template as the fallback.

The rules already decided what to ask; a wording that drifts off that (or is slow, or malformed) is dropped.
Both tasks open with one conversation per language (prompts/<language>/wording.txt: the instructions and examples
of each kind) and differ only in their last request. llama.cpp keeps the evaluated prefix of the previous prompt,
so a rephrasing drafted after a follow-up evaluates only its own request instead of a whole few-shot prompt again.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from dialogue.injection import as_prompt_data
from dialogue.language import Language, content_units, han_chars, words
from dialogue.llm.base import LLMBackend, LLMError
from dialogue.prompting import render

log = logging.getLogger(__name__)

_PREFIX = re.compile(r"^\s*(follow[- ]?up( question)?|question|rephrased( question)?|追问|问题)\s*[:：]\s*", re.I)
# The candidate's answer as the follow-up prompt carries it: enough to see what is missing, not a whole essay.
MAX_FOLLOW_UP_ANSWER_CHARS = 800
_META = re.compile(r"\b(as an ai|language model|i cannot|i can't|candidate's answer)\b|作为(一个)?(AI|人工智能)", re.I)
# Rephrasings must keep this share of the original's subject (its meaning units, less the words every interview
# question is built from): less, and it asks something else. Counted over all units, "What was the biggest challenge
# you faced in your team?" kept half of "Tell me about a microservices project you worked on and the biggest
# challenge you faced" and passed, though it kept nothing of what the question was about.
MIN_REPHRASE_OVERLAP = 0.4
_QUESTION_FRAME: dict[Language, frozenset[str]] = {
    "en": frozenset((
        "tell", "describe", "describing", "time", "times", "example", "situation", "biggest", "hardest", "challenge",
        "challenges", "faced", "face", "worked", "work", "did", "do", "how", "what", "when", "why", "could", "can",
        "would", "give", "share", "walk", "experience", "handled", "happened", "make", "sure", "ensure",
    )),
    "zh": frozenset((
        "描述", "讲讲", "经历", "遇到", "最大", "大挑", "挑战", "如何", "何解", "解决", "具体", "什么", "怎么", "怎样",
        "时候", "例子", "情况", "当时", "谈谈", "说说",
    )),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class WordingConfig:
    # Past this the template is said instead: a follow-up a second late is worse than a plainer one on time.
    timeout_s: float = 2.0
    max_tokens: int = 48


@dataclass(frozen=True, slots=True)
class Worded:
    text: str
    by_model: bool


def subject_kept(original: str, text: str, language: Language) -> float:
    """The share of the question's subject (its meaning units less the interview frame; all of them when nothing
    else is left) that `text` still holds."""
    units = content_units(original, language)
    subject = units - _QUESTION_FRAME[language] or units
    return len(subject & content_units(text, language)) / len(subject) if subject else 1.0


def _clean(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return _PREFIX.sub("", first).strip().strip('"“”').strip()


_SENTENCE_END_BEFORE_LAST = re.compile(r"[.!]\s|[。！](?=.)")


def _is_question(text: str, language: Language) -> bool:
    """One short question: a single sentence ending in a question mark, no talk about the task."""
    if _META.search(text) or not text.endswith(("?", "？")) or _SENTENCE_END_BEFORE_LAST.search(text):
        return False
    size = len(han_chars(text)) if language == "zh" else len(words(text))
    low, high = (6, 60) if language == "zh" else (4, 40)
    return low <= size <= high and text.count("?") + text.count("？") <= 2


def valid_follow_up(text: str, language: Language, question: str) -> bool:
    return _is_question(text, language) and text.strip() != question.strip()


def valid_rephrase(text: str, language: Language, original: str) -> bool:
    if not _is_question(text, language) or text.strip() == original.strip():
        return False
    return subject_kept(original, text, language) >= MIN_REPHRASE_OVERLAP


async def _worded(
    backend: LLMBackend | None,
    task: str,
    language: Language,
    config: WordingConfig,
    template: str,
    valid: Callable[[str], bool],
    **values: str,
) -> Worded:
    """The model's text for `task` if it arrives in time and passes `valid`; else the template."""
    if backend is None:
        return Worded(template, by_model=False)
    try:
        completion = await asyncio.wait_for(
            backend.complete(
                [*render("wording", language), *render(task, language, **values)],
                max_tokens=config.max_tokens,
                stop=("\n",),
            ),
            timeout=config.timeout_s,
        )
    except (LLMError, TimeoutError) as exc:
        log.warning("%s wording failed, using the template: %s", task, exc or type(exc).__name__)
        return Worded(template, by_model=False)
    text = _clean(completion.text)
    if valid(text):
        return Worded(text, by_model=True)
    # The model's words may quote the candidate's: only the fact of the rejection is logged at INFO.
    log.info("model's %s rejected (drifted or malformed), using the template", task)
    log.debug("rejected %s: %r", task, text)
    return Worded(template, by_model=False)


async def word_follow_up(
    backend: LLMBackend | None,
    language: Language,
    *,
    question: str,
    answer: str,
    gap: str,
    template: str,
    config: WordingConfig = WordingConfig(),
) -> Worded:
    return await _worded(
        backend, "follow_up", language, config, template,
        lambda text: valid_follow_up(text, language, question),
        question=question, answer=as_prompt_data(answer, MAX_FOLLOW_UP_ANSWER_CHARS), gap=gap,
    )  # fmt: skip


async def word_rephrase(
    backend: LLMBackend | None,
    language: Language,
    *,
    original: str,
    template: str,
    config: WordingConfig = WordingConfig(),
) -> Worded:
    return await _worded(
        backend, "rephrase", language, config, template,
        lambda text: valid_rephrase(text, language, original),
        question=original,
    )  # fmt: skip
