"""Transparent, measurable features of an answer: STAR elements, specificity, relevance, coverage, length.

Each is a number in [0, 1] that a person can check against the words; the rules-based score is built from them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from dialogue.language import Language, content_units, han_chars, length_units, meaning_chars

STAR_ELEMENTS = ("situation", "action", "result")

_EN_SITUATION = re.compile(
    r"\b(at my (last|previous|current)|when (i|we|our)|in my (last|previous|current)|our (team|company|service|"
    r"system|product|client)|the (project|challenge|problem|goal|situation|context)|my (task|role|job|goal|"
    r"responsibility) (was|is)|i was (responsible|asked|tasked)|(days?|weeks?|months?) before|last year|"
    r"we had to|there was|we were)\b"
)
# "I" or "we" doing something: a past-tense verb (regular, or a common irregular one) or a habitual present.
_EN_ACTION = re.compile(
    r"\b(i|we)( \w+ly)? (\w+ed|led|built|made|wrote|ran|cut|took|set up|set|found|chose|brought|taught|drove|"
    r"began|kept|got|put|held|spent|sent|split|did|rewrote|start|add|define|write|run|use|track|review|build|"
    r"set|talk|check|make|lead|ask|test|plan|measure|monitor|automate|document)\b"
)
_EN_RESULT = re.compile(
    r"\b(as a result|the result|resulted in|result was|outcome|which (led|meant|cut|reduced)|so that|in the end|"
    r"finally|afterwards|cut|reduced|improved|increased|decreased|dropped|saved|launched|delivered|handled|"
    r"achieved|grew|shipped|on time|no data loss|zero downtime|faster|fewer)\b"
)
_ZH_SITUATION = re.compile(
    r"(在.{0,8}(公司|项目|团队|时候|期间)|当时|有一次|之前|背景|任务是|负责|挑战|遇到|面临|需要)"
)
_ZH_ACTION = re.compile(
    r"(我们?(带领|引入|采用|设计|实现|优化|重构|拆分|搭建|编写|排查|分析|推动|组织|制定|使用|增加|加入|做了|决定))"
)
_ZH_RESULT = re.compile(r"(结果|最后|最终|缩短|提高|提升|降低|减少|增长|节省|按时|成功|上线|沿用|效果|达到)")

_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"thousand|million|billion|half|double|twice|percent)\b|[一二两三四五六七八九十百千万亿半倍]"
)
_OUTCOME = re.compile(
    r"\b(cut|reduced|improved|increased|saved|handled|launched|faster|no data loss)\b|缩短|提高|降低|减少|提升"
)
# Proper nouns and tech spellings: words a speaker capitalises mid-sentence, or written with + # . digits.
_NAMED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][A-Za-z0-9+#.]*[A-Za-z0-9+#]|\b[a-z]+[+#]+|[A-Za-z]+\.js\b")
_VAGUE = re.compile(
    r"\b(it was fine|some problems|i don'?t (really )?remember|usually just|things like that|stuff|"
    r"i guess|kind of|sort of)\b|想不起来|差不多|一般般|还行"
)


@dataclass(frozen=True, slots=True)
class AnswerFeatures:
    star: frozenset[str]
    specificity: float
    relevance: float
    length: float
    coverage_terms: frozenset[str]

    @property
    def star_ratio(self) -> float:
        return len(self.star) / len(STAR_ELEMENTS)


def star_elements(text: str, language: Language) -> frozenset[str]:
    lowered = text.lower().replace("’", "'")
    patterns = (
        (_ZH_SITUATION, _ZH_ACTION, _ZH_RESULT)
        if language == "zh" and han_chars(text)
        else (_EN_SITUATION, _EN_ACTION, _EN_RESULT)
    )
    return frozenset(name for name, p in zip(STAR_ELEMENTS, patterns, strict=True) if p.search(lowered))


def specificity(text: str, language: Language) -> float:
    """Numbers, named tools and outcomes, each counted up to a few, minus vague filler."""
    numbers = len(_NUMBER.findall(text.lower()))
    named = len(set(_NAMED.findall(text)))
    outcomes = len(_OUTCOME.findall(text.lower()))
    raw = min(numbers, 3) / 3 * 0.4 + min(named, 3) / 3 * 0.35 + min(outcomes, 2) / 2 * 0.25
    if _VAGUE.search(text.lower()):
        raw -= 0.2
    return max(0.0, min(1.0, raw))


def relevance(answer: str, question: str, language: Language, topic: str = "") -> float:
    """The share of the question's (and its dimension's) meaning units that the answer picks up, saturating."""
    wanted = content_units(question + " " + topic, language)
    if not wanted:
        return 1.0
    got = content_units(answer, language)
    overlap = len(wanted & got) / len(wanted)
    return min(1.0, overlap * 2.5)


# all-MiniLM-L6-v2 cosine between a question and an answer: ~0.1 for an unrelated topic, ~0.4 and up for an
# answer on the question's subject (measured on the backend_en fixtures); mapped linearly onto [0, 1].
UNRELATED_COSINE = 0.1
ON_TOPIC_COSINE = 0.4


def embedding_relevance(similarity: Callable[[str, str], float]) -> Callable[[str, str], float]:
    """Relevance from sentence embeddings: catches an on-topic answer that shares no words with the question."""

    def relevance(question: str, answer: str) -> float:
        cosine = similarity(question, answer)
        return max(0.0, min(1.0, (cosine - UNRELATED_COSINE) / (ON_TOPIC_COSINE - UNRELATED_COSINE)))

    return relevance


def length_score(text: str, language: Language) -> float:
    """Saturates at what a complete spoken example takes: ~60 English words, ~90 Chinese characters."""
    full = 90 if language == "zh" else 60
    return min(1.0, length_units(text, language) / full)


# Requirement boilerplate that says how much, not what: 熟练掌握Spring Boot is about Spring Boot.
_ZH_REQUIREMENT_FILLER = re.compile(
    r"熟练掌握|熟练|掌握|熟悉|精通|了解|具备|具有|良好的?|项目经验|相关经验|经验|能力强|能力|优秀的?|有"
)


def requirement_terms(requirement: str, language: Language) -> set[str]:
    if language == "zh":
        core = _ZH_REQUIREMENT_FILLER.sub(" ", requirement)
        return content_units(core, language) | (meaning_chars(core) if len(han_chars(core)) < 3 else set())
    return content_units(requirement, language)


def covered_requirements(text: str, requirements: tuple[str, ...], language: Language) -> frozenset[str]:
    """Requirements the answer speaks to: at least half of a requirement's meaning units appear in it."""
    got = content_units(text, language) | (meaning_chars(text) if language == "zh" else set())
    covered = set()
    for r in requirements:
        terms = requirement_terms(r, language)
        if terms and len(terms & got) / len(terms) >= 0.5:
            covered.add(r)
    return frozenset(covered)


def answer_features(
    answer: str, question: str, language: Language, requirements: tuple[str, ...], topic: str = ""
) -> AnswerFeatures:
    return AnswerFeatures(
        star=star_elements(answer, language),
        specificity=specificity(answer, language),
        relevance=relevance(answer, question, language, topic),
        length=length_score(answer, language),
        coverage_terms=covered_requirements(answer, requirements, language),
    )
