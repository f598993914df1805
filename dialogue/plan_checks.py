"""Whether a generated plan part may be used: question shape, subject, duplicates and protected traits.

Every check returns the problem in words (fed back to the model when it is asked again) or None when the part
passes; the same rules apply in English and Chinese, each with its own patterns.
"""

from __future__ import annotations

import re

from dialogue.language import Language, content_units, han_chars, length_units, meaning_chars, words

# Questions about these traits are unlawful or unfair in hiring in most jurisdictions; no generated part may
# touch them, whatever the requisition says. Technical homonyms (race condition, health check, object) are
# left out of the patterns on purpose.
_PROTECTED: dict[Language, tuple[tuple[str, re.Pattern[str]], ...]] = {
    "en": (
        ("age", re.compile(r"\bhow old\b|\bage\b|\b(year|date) of birth\b|\bborn\b|\bbirthday\b")),
        (
            "family",
            re.compile(
                r"\b(married|marital|marriage|spouse|husband|wife|pregnan\w*|maternity|children|kids|"
                r"start a family|family (plans?|status|situation|life|members?))\b"
            ),
        ),
        (
            "health",
            re.compile(
                r"\b(your health|health (conditions?|issues?|problems?)|illness\w*|diseases?|disabilit\w*|"
                r"disabled|medical (history|conditions?)|medications?)\b"
            ),
        ),
        ("religion", re.compile(r"\b(religio\w*|church|mosque|synagogue|pray\w*|your faith)\b")),
        (
            "origin",
            re.compile(
                r"\b(ethnic\w*|racial|your race|nationality|citizenship|native (country|language)|"
                r"country of origin|where are you (originally )?from|your accent|immigra\w*)\b"
            ),
        ),
        ("gender", re.compile(r"\b(your gender|sexual orientation|sexuality)\b")),
        ("politics", re.compile(r"\b(political (views?|party|affiliation)|union member\w*|vote[ds]?)\b")),
    ),
    "zh": (
        ("age", re.compile(r"年龄|年纪|多大了|几岁|哪年出生|出生(年|日期)|生日|属相")),
        (
            "family",
            re.compile(
                r"婚|配偶|老公|老婆|丈夫|妻子|男朋友|女朋友|孩子|子女|小孩|生育|怀孕|二胎|家庭(情况|状况|成员|背景|计划)|父母"
            ),
        ),
        ("health", re.compile(r"健康(状况|情况|问题)|身体(状况|情况|怎么样)|疾病|病史|残疾|残障|吃药")),
        ("religion", re.compile(r"宗教|信仰|信教|佛教|基督|伊斯兰|教徒")),
        ("origin", re.compile(r"民族|籍贯|户口|户籍|老家|哪里人|出身|国籍|口音")),
        ("gender", re.compile(r"性别|性取向")),
        ("politics", re.compile(r"政治面貌|党员|入党|政党")),
    ),
}
_META = re.compile(
    r"\b(as an ai|language model|i cannot|i can.t|json|rejected|competency:)|作为(一个)?(AI|人工智能)|退回|能力：", re.I
)
_LIST = re.compile(r"(^|\s)(\d[.)、]|\(\d\)|（\d）)\s*\S|[①②③]")
_SENTENCE_END = re.compile(r"[.!?。！？](?=\s*\S)")
# A question long enough to ask something and short enough to be said aloud in one breath or two.
_QUESTION_SIZE: dict[Language, tuple[int, int]] = {"en": (5, 45), "zh": (8, 90)}
_NAME_SIZE: dict[Language, int] = {"en": 4, "zh": 12}  # words in English, characters in Chinese
MAX_NAME_CHARS = 40
MAX_REASON_CHARS = 200
# Two questions this alike ask the same thing.
DUPLICATE_OVERLAP = 0.8


def protected_trait(text: str, language: Language) -> str | None:
    """The protected trait `text` asks or talks about, checked with both languages' patterns (a Chinese plan may
    carry English words); None if none."""
    lowered = text.lower()
    for lang in (language, "en" if language == "zh" else "zh"):
        for trait, pattern in _PROTECTED[lang]:
            if pattern.search(lowered):
                return trait
    return None


def question_problem(text: str, language: Language) -> str | None:
    """What makes `text` unusable as one interview question, or None."""
    if not text.strip():
        return "the question is empty"
    if "\n" in text.strip():
        return "the question spans several lines"
    if not text.rstrip().endswith(("?", "？")):
        return "the question does not end with a question mark"
    if _LIST.search(text):
        return "it is a numbered list of questions, not one question"
    if len(_SENTENCE_END.findall(text)) > 2 or text.count("?") + text.count("？") > 3:
        return "it asks several questions at once"
    size = length_units(text, language)
    low, high = _QUESTION_SIZE[language]
    if size < low:
        return "the question is too short to ask anything specific"
    if size > high:
        return "the question is too long to say in one breath"
    if language == "zh" and len(han_chars(text)) < len(words(text)):
        return "the question is not written in Chinese"
    if language == "en" and han_chars(text):
        return "the question is not written in English"
    if _META.search(text):
        return "the question talks about the model or the format"
    trait = protected_trait(text, language)
    if trait is not None:
        return f"the question touches a protected trait ({trait})"
    return None


def _stems(text: str) -> set[str]:
    # A crude shared stem ("managed", "management") is enough to tell whether two texts share a subject.
    return {w[:5] for w in content_units(text, "en")}


def on_subject(question: str, dimension: str, language: Language) -> bool:
    """Whether the question shares meaning with its dimension's name: words (by stem) in English, a character
    bigram or two characters in Chinese, Latin words (tools, products) in both."""
    if _stems(question) & _stems(dimension):
        return True
    if language != "zh":
        return False
    if content_units(question, "zh") & content_units(dimension, "zh"):
        return True
    name_chars = meaning_chars(dimension)
    return len(meaning_chars(question) & name_chars) >= min(2, len(name_chars))


def duplicates(question: str, earlier: list[str], language: Language) -> bool:
    """Whether the question asks the same as one already in the plan."""
    squeezed = "".join(question.lower().split())
    units = content_units(question, language)
    for other in earlier:
        if squeezed == "".join(other.lower().split()):
            return True
        others = content_units(other, language)
        if units and others and len(units & others) / min(len(units), len(others)) >= DUPLICATE_OVERLAP:
            return True
    return False


def dimension_problem(name: str, reason: str, language: Language) -> str | None:
    """What makes a proposed competency unusable (its name and its one-line reason), or None."""
    name = name.strip()
    if not name:
        return "the competency has no name"
    size = len(words(name)) if language == "en" else len(han_chars(name)) + len(words(name))
    if size > _NAME_SIZE[language] or len(name) > MAX_NAME_CHARS:
        return f"the competency name '{name}' is not short"
    if not reason.strip() or "\n" in reason.strip() or len(reason) > MAX_REASON_CHARS:
        return f"the reason for '{name}' is not one line"
    trait = protected_trait(f"{name} {reason}", language)
    if trait is not None:
        return f"the competency '{name}' touches a protected trait ({trait})"
    return None
