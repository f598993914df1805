"""Highlights: moments of an interview worth jumping to in its recording, found in the stored turns by rules.

A concrete result with numbers, a named technology from the job's requirements, an answer that led to a follow-up;
each with its session time and the candidate's verbatim words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from dialogue.answer_features import requirement_terms
from dialogue.plan import InterviewPlan
from dialogue.session import QuestionKind, Turn
from media.sentences import sentence_spans

HighlightKind = Literal["result", "technology", "follow_up"]
MAX_QUOTE = 240

_NUMBER = re.compile(
    r"\d|%|\b(?:two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|fifty|hundred|thousand|million|"
    r"billion|half|double|twice|triple)\b|[两二三四五六七八九十百千万亿倍半]",
    re.IGNORECASE,
)
_RESULT = re.compile(
    r"\b(?:result|drop|dropped|cut|reduc\w*|increas\w*|improv\w*|sav\w*|grew|grow\w*|faster|slower|fell|rose|"
    r"raised|lowered|halved|doubled|tripled|from\b.+\bto|times|percent|latency|revenue|users|customers|"
    r"under|within|shipped)\b|降|提升|提高|减少|增加|节省|结果|缩短",
    re.IGNORECASE,
)
# Words of a requirement that name nothing by themselves ("experience with SQL databases" names SQL).
_GENERIC = {
    "and", "or", "the", "a", "an", "of", "with", "in", "for", "to", "on", "experience", "knowledge", "skills",
    "strong", "good", "solid", "years", "working", "using", "databases", "database", "systems", "design",
    "development", "communication", "teamwork", "leadership", "ability", "familiarity", "understanding",
}  # fmt: skip
# A Latin name in a requirement: "C++", "C#", "Node.js", "ASP.NET"; ASCII only, so a name written against Chinese
# text ("掌握Spring Boot经验") ends where the Chinese begins.
_LATIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+#.\-]*[A-Za-z0-9_+#]|[A-Za-z]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
# Before and after a Latin term: no letter, digit or +/# of a longer word. Chinese characters are \w in Python but
# are no part of a Latin word, so "用Spring Boot写" still names Spring Boot.
_LATIN_BOUNDARY = r"[^\W\u2e80-\u9fff\uf900-\ufaff]|[+#]"


@dataclass(frozen=True, slots=True)
class Highlight:
    kind: HighlightKind
    start: float | None  # session seconds, the recording's timeline; None for a typed answer
    end: float | None
    quote: str  # the candidate's words, verbatim
    question_id: str
    turn_seq: int
    # What makes it a highlight, as data for the reader's language to frame: the technology's name, the
    # follow-up's question, the result cue.
    detail: str


def _latin_names(requirement: str, chinese: bool) -> list[str]:
    """The named things written in Latin letters; adjacent names separated only by spaces are one ("Spring Boot").

    In English a name is capitalised or not a plain word (SQL, PostgreSQL, C++, node.js); in a Chinese requirement
    every Latin word that is not a generic one is a name ("熟悉redis").
    """
    runs: list[list[re.Match[str]]] = []
    previous: re.Match[str] | None = None
    for m in _LATIN_NAME.finditer(requirement):
        w = m.group()
        named = w.lower() not in _GENERIC and (chinese or w[0].isupper() or not w.isalpha() or w.isupper())
        if not named:
            previous = None
            continue
        between = requirement[previous.end() : m.start()] if previous is not None else ""
        if previous is not None and between.isspace():
            runs[-1].append(m)
        else:
            runs.append([m])
        previous = m
    return [requirement[run[0].start() : run[-1].end()] for run in runs]


def _chinese_names(requirement: str) -> list[str]:
    """The Chinese terms of a requirement without its boilerplate: "有微服务项目经验" → 微服务.

    `requirement_terms` gives the meaning-carrying bigrams left after the boilerplate (熟练掌握, 有, 项目经验, …) and
    stop characters are taken out; each run of the requirement's own characters those bigrams cover is one term.
    """
    units = requirement_terms(requirement, "zh")
    covered = [False] * len(requirement)
    for i in range(len(requirement) - 1):
        if requirement[i : i + 2] in units:
            covered[i] = covered[i + 1] = True
    kept = "".join(c if covered[i] and _HAN.match(c) else " " for i, c in enumerate(requirement))
    return kept.split()


def _term_pattern(name: str) -> re.Pattern[str]:
    if _HAN.search(name):  # Chinese has no word boundaries: the term anywhere in the sentence
        return re.compile(re.escape(name), re.IGNORECASE)
    body = r"\s*".join(re.escape(w) for w in name.split())  # "Spring Boot" is also heard as "SpringBoot"
    return re.compile(rf"(?<!{_LATIN_BOUNDARY}){body}(?!{_LATIN_BOUNDARY})", re.IGNORECASE)


def technology_terms(requirements: Sequence[str]) -> dict[str, re.Pattern[str]]:
    """Each named thing in the requirements → a case-insensitive pattern for it: whole words for a Latin name
    (a multi-word name is one term), anywhere for a Chinese one. A requirement naming nothing is one term itself.
    """
    terms: dict[str, re.Pattern[str]] = {}
    for requirement in requirements:
        chinese = bool(_HAN.search(requirement))
        names = _latin_names(requirement, chinese) + (_chinese_names(requirement) if chinese else [])
        candidates = names or ([requirement.strip()] if requirement.strip() else [])
        for name in candidates:
            key = name.strip()
            if len(key) >= 2 and key.lower() not in {k.lower() for k in terms}:
                terms[key] = _term_pattern(key)
    return terms


def _time_of(turn: Turn, offset: int, length: int) -> tuple[float | None, float | None]:
    """A sentence's time inside its turn, by its place in the words: speech runs at a roughly even pace."""
    if turn.start is None or turn.end is None or not turn.answer:
        return turn.start, turn.end
    span = max(0.0, turn.end - turn.start)
    n = len(turn.answer)
    return round(turn.start + span * offset / n, 3), round(turn.start + span * min(n, offset + length) / n, 3)


def _quote(text: str) -> str:
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1].rstrip() + "…"


def find_highlights(plan: InterviewPlan, turns: Sequence[Turn]) -> list[Highlight]:
    """The interview's highlights in the order they happened (typed answers, which have no time, last)."""
    terms = technology_terms(plan.requirements)
    ordered = sorted(turns, key=lambda t: t.seq)
    out: list[Highlight] = []
    for i, turn in enumerate(ordered):
        if turn.question_kind == QuestionKind.CLOSING or not turn.answer.strip():
            continue
        following = ordered[i + 1] if i + 1 < len(ordered) else None
        if (
            following is not None
            and following.question_kind == QuestionKind.FOLLOW_UP
            and following.main_question_id == turn.main_question_id
        ):
            first = sentence_spans(turn.answer)[0] if sentence_spans(turn.answer) else (0, turn.answer.strip())
            start, _ = _time_of(turn, first[0], len(first[1]))
            quote = _quote(turn.answer.strip())
            out.append(
                Highlight("follow_up", start, turn.end, quote, turn.question_id, turn.seq, following.question_text)
            )
        named_here: set[str] = set()
        for offset, sentence in sentence_spans(turn.answer):
            start, end = _time_of(turn, offset, len(sentence))
            if _NUMBER.search(sentence) and (cue := _RESULT.search(sentence)):
                out.append(Highlight("result", start, end, _quote(sentence), turn.question_id, turn.seq, cue.group()))
            for name, pattern in terms.items():
                if name not in named_here and pattern.search(sentence):
                    named_here.add(name)
                    out.append(Highlight("technology", start, end, _quote(sentence), turn.question_id, turn.seq, name))
    return sorted(out, key=lambda h: (h.start is None, h.start or 0.0, h.turn_seq))
