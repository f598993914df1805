"""Highlights: moments of an interview worth jumping to in its recording, found in the stored turns by rules.

A concrete result with numbers, a named technology from the job's requirements, an answer that led to a follow-up;
each with its session time and the candidate's verbatim words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from dialogue.plan import InterviewPlan
from dialogue.session import QuestionKind, Turn

HighlightKind = Literal["result", "technology", "follow_up"]
MAX_QUOTE = 240

_SENTENCE = re.compile(r"[^.!?。！？]+[.!?。！？]*")
_NUMBER = re.compile(
    r"\d|%|\b(?:two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|fifty|hundred|thousand|million|"
    r"billion|half|double|twice|triple)\b|[两二三四五六七八九十百千万亿倍]",
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


@dataclass(frozen=True, slots=True)
class Highlight:
    kind: HighlightKind
    start: float | None  # session seconds, the recording's timeline; None for a typed answer
    end: float | None
    quote: str  # the candidate's words, verbatim
    question_id: str
    turn_seq: int
    detail: str  # what makes it a highlight: the technology's name, the follow-up's question, the result cue


def technology_terms(requirements: Sequence[str]) -> dict[str, re.Pattern[str]]:
    """Each named thing in the requirements → a whole-word, case-insensitive pattern for it."""
    terms: dict[str, re.Pattern[str]] = {}
    for requirement in requirements:
        words = re.findall(r"[A-Za-z][\w+#.\-]*[\w+#]|[A-Za-z]", requirement)
        named = [w for w in words if w.lower() not in _GENERIC and (w[0].isupper() or not w.isalpha() or w.isupper())]
        candidates = named or ([requirement.strip()] if requirement.strip() else [])
        for name in candidates:
            key = name.strip()
            if len(key) >= 2 and key.lower() not in {k.lower() for k in terms}:
                terms[key] = re.compile(rf"(?<![\w+#]){re.escape(key)}(?![\w+#])", re.IGNORECASE)
        if re.search(r"[\u4e00-\u9fff]", requirement):  # Chinese requirements have no word boundaries
            terms.setdefault(requirement.strip(), re.compile(re.escape(requirement.strip())))
    return terms


def _sentences(answer: str) -> list[tuple[int, str]]:
    """(character offset, sentence) pairs, the sentence stripped but still a verbatim span of the answer."""
    out = []
    for m in _SENTENCE.finditer(answer):
        text = m.group().strip()
        if text:
            out.append((m.start() + m.group().index(text), text))
    return out


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
            first = _sentences(turn.answer)[0] if _sentences(turn.answer) else (0, turn.answer.strip())
            start, _ = _time_of(turn, first[0], len(first[1]))
            detail = f"led to the follow-up: {following.question_text}"
            quote = _quote(turn.answer.strip())
            out.append(Highlight("follow_up", start, turn.end, quote, turn.question_id, turn.seq, detail))
        named_here: set[str] = set()
        for offset, sentence in _sentences(turn.answer):
            start, end = _time_of(turn, offset, len(sentence))
            if _NUMBER.search(sentence) and (cue := _RESULT.search(sentence)):
                out.append(Highlight("result", start, end, _quote(sentence), turn.question_id, turn.seq, cue.group()))
            for name, pattern in terms.items():
                if name not in named_here and pattern.search(sentence):
                    named_here.add(name)
                    out.append(Highlight("technology", start, end, _quote(sentence), turn.question_id, turn.seq, name))
    return sorted(out, key=lambda h: (h.start is None, h.start or 0.0, h.turn_seq))
