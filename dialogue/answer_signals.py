"""What a language model's probabilities say about one answer: rubric grade, genericity, relevance to its question.

Four signals, read from token log-probabilities (no text is generated), after one fixed rubric conversation
(ChatML: instructions, then graded examples from other jobs as earlier turns) that the model keeps evaluated:

- `rubric`: the expected grade (0-9) over the model's next-digit probabilities when asked to grade the answer;
- `surprisal`: the answer's mean negative log-probability per token, given its question. Fluent, generic clichés
  are predictable (low surprisal); a real event told in the candidate's own words is not;
- `detail`: the mean surprisal of the answer's `DETAIL_TOKENS` least expected tokens. A real event names things
  no one could have guessed (a system, a place, a date, a figure with its unit) and each of them is a spike,
  however polished the sentences around them; clichés and vague answers have no such spikes. Unlike the mean, it
  does not drop when a specific answer is fluently worded, nor rise when an answer is short;
- `relevance`: how much better the answer's first `RELEVANCE_TOKENS` tokens are predicted after its own question
  than after the likeliest of the (up to `MAX_RIVALS`) other plan questions that share the most words with it (nats
  per answer token): pointwise mutual information read on the answer's side, where a two-to-four sentence answer
  holds far more evidence than a one-line question. A plan with one question is compared with questions from other
  fields instead.

Candidate words are fenced, flattened to one line, cut at `MAX_ANSWER_CHARS` and tokenised as plain text
(`PieceKind.DATA` / `MEASURED`): they can neither close the fence nor open a chat turn.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from dialogue.language import Language, content_units
from dialogue.llm.token_logprobs import Piece, PieceKind, TokenScorer
from dialogue.read_queue import ReadQueue, Urgency

# Bump when the rubric prompt or how a signal is read changes: reports name the version they were scored with.
PROMPT_VERSION = "rubric-2026.12-5"
GRADES = tuple(str(d) for d in range(10))
# Beyond this many characters an answer is cut (a spoken answer of ~3 minutes); what follows is not read, so text
# appended after filler to overflow the context reaches nothing.
MAX_ANSWER_CHARS = 1400
MAX_QUESTION_CHARS = 300
DETAIL_TOKENS = 10  # an answer's spikes: about one per named thing, figure or date of a two-to-four sentence story
# Relevance reads the answer after at most this many other questions (those sharing the most words with it), and
# only the answer's first RELEVANCE_TOKENS tokens, after its own question too: where an answer goes is settled in its
# opening sentences, and a three-minute spoken answer (300+ tokens) would otherwise cost each rival its whole length.
# Dev set (tests/dialogue/scoring_devset, 2026-12-07, answers of 65 tokens median): the same gaps and AUCs as reading
# whole answers to within 0.03 on both splits. One rival instead of three cost 40 % less but lost the English
# misdirected answers (held-out gap +2.63 -> +1.86); a 48-token cut widened the misdirected gaps but narrowed the
# English generic ones: neither was taken.
MAX_RIVALS = 3
RELEVANCE_TOKENS = 96
# Questions from other fields, the rivals of the only question of a one-question plan.
DECOY_QUESTIONS = {
    "en": (
        "What is your favourite holiday destination and why?",
        "Describe the software architecture of a system you built.",
    ),
    "zh": (
        "你最喜欢去哪里旅游？为什么？",
        "请介绍一个你设计过的软件系统的架构。",
    ),
}
_FENCE = re.compile(r"<<<|>>>|[\r\n\t]+")


@dataclass(frozen=True, slots=True)
class AnswerSignals:
    rubric: float  # expected grade, 0-9
    surprisal: float  # nats per answer token
    detail: float  # nats: mean surprisal of the DETAIL_TOKENS least expected answer tokens
    relevance: float  # nats per answer token: log p(answer | its question) - max log p(answer | another question)
    tokens: int  # answer tokens read
    prompt_tokens: int  # tokens evaluated for this answer (cached prefixes excluded)
    seconds: float


_EXAMPLE = re.compile(r"Answer: <<<(.*?)>>>\nQuestion: (.*?)\nGrade: (\d)", re.DOTALL)


@cache
def _rubric() -> tuple[str, tuple[tuple[str, str, str], ...]]:
    """The rubric's instructions and its graded examples (answers from jobs outside any plan)."""
    text = resources.files("prompts").joinpath("score_rubric.txt").read_text(encoding="utf-8")
    head = text.split("\n\nAnswer: ", 1)[0].strip()
    return head, tuple((q, a, g) for a, q, g in _EXAMPLE.findall(text))


@cache
def rubric_prefix() -> str:
    """The fixed start of every scoring prompt (ChatML: system rubric, graded examples as earlier turns), which
    the model keeps evaluated between calls; only what follows it is computed per answer."""
    head, examples = _rubric()
    turns = "".join(
        f"<|im_start|>user\nQuestion: {q}\nAnswer: <<<{a}>>><|im_end|>\n<|im_start|>assistant\nGrade: {g}<|im_end|>\n"
        for q, a, g in examples
    )
    return f"<|im_start|>system\n{head}<|im_end|>\n{turns}<|im_start|>user\n"


def fenced(text: str, limit: int) -> str:
    """Candidate words as one line that cannot contain the fence, cut at `limit` characters."""
    flat = " ".join(_FENCE.sub(" ", text).split())
    return flat[:limit]


def _grading(answer: str, question: str) -> list[Piece]:
    """The rubric turn: the grade is the next token; the answer's tokens are measured given its question."""
    return [
        Piece(rubric_prefix()),  # its own piece: the scorer keeps it evaluated between calls
        Piece("Question: "),
        Piece(question, PieceKind.DATA),
        Piece("\nAnswer: <<<"),
        Piece(answer, PieceKind.MEASURED),
        Piece(">>><|im_end|>\n<|im_start|>assistant\nGrade: "),
    ]


def _rival_reading(answer: str, rival: str) -> list[Piece]:
    """The rubric turn up to the answer's first RELEVANCE_TOKENS tokens, after another question: what follows
    them cannot change how expected they were, so the rest is not evaluated."""
    return [
        Piece(rubric_prefix()),
        Piece("Question: "),
        Piece(rival, PieceKind.DATA),
        Piece("\nAnswer: <<<"),
        Piece(answer, PieceKind.MEASURED, max_tokens=RELEVANCE_TOKENS),
    ]


def _expected_grade(logprobs: Sequence[tuple[str, float]]) -> float:
    weights = [math.exp(lp) for _, lp in logprobs]
    total = sum(weights)
    if total <= 0:
        return 0.0
    return sum(int(g) * w for (g, _), w in zip(logprobs, weights, strict=True)) / total


class SignalReader:
    """Reads `AnswerSignals` with one `TokenScorer`; a `ReadQueue` admits one answer at a time."""

    def __init__(self, scorer: TokenScorer, queue: ReadQueue | None = None) -> None:
        self.scorer = scorer
        self.queue = queue or ReadQueue()

    async def warm_up(self) -> None:
        """Evaluates the fixed rubric prefix now (the in-process model keeps it), so that the first answer read later
        pays only for its own words: on two cores the prefix alone took ~40 s of the first judgement while a voice
        interview ran beside it, and every later judgement of the node queued behind it."""
        async with self.queue.slot(None):
            await self.scorer.score([Piece(rubric_prefix()), Piece("Question: ")])

    async def read(
        self,
        answer: str,
        question: str,
        other_questions: Sequence[str],
        language: Language,
        *,
        urgency: Urgency | None = None,
    ) -> AnswerSignals:
        # One answer's reads run back to back: another session's read slipped in between them would delay a
        # report that is being waited for.
        async with self.queue.slot(urgency):
            return await self._read(answer, question, other_questions, language)

    async def _read(
        self, answer: str, question: str, other_questions: Sequence[str], language: Language
    ) -> AnswerSignals:
        started = time.perf_counter()
        text = fenced(answer, MAX_ANSWER_CHARS)
        asked = fenced(question, MAX_QUESTION_CHARS)
        graded = await self.scorer.score(_grading(text, asked), next_tokens=GRADES)
        answer_lps = graded.measured[0]
        evaluated = graded.prompt_tokens
        others = [fenced(q, MAX_QUESTION_CHARS) for q in other_questions]
        rivals = closest_rivals(text, asked, others or list(DECOY_QUESTIONS[language]), language)
        own = _mean(answer_lps[:RELEVANCE_TOKENS])
        best_rival = -math.inf
        for rival in rivals:
            # The same rubric turn, so that the two readings differ only in the question.
            read = await self.scorer.score(_rival_reading(text, rival))
            evaluated += read.prompt_tokens
            best_rival = max(best_rival, _mean(read.measured[0][:RELEVANCE_TOKENS]))
        spikes = sorted(answer_lps)[:DETAIL_TOKENS]
        return AnswerSignals(
            rubric=_expected_grade(graded.next_token),
            surprisal=-_mean(answer_lps),
            detail=-_mean(spikes),
            relevance=own - best_rival if best_rival > -math.inf else 0.0,
            tokens=len(answer_lps),
            prompt_tokens=evaluated,
            seconds=time.perf_counter() - started,
        )


def closest_rivals(answer: str, asked: str, others: Sequence[str], language: Language) -> list[str]:
    """The `MAX_RIVALS` other questions sharing the most words (zh: character pairs) with the answer, in plan order
    among equals: a misdirected answer's own question is the one whose words it repeats, and reading every question
    of a long plan would make the scorer's time grow with the plan."""
    said = content_units(answer, language)
    unique = [q for q in dict.fromkeys(others) if q != asked]

    def shared(q: str) -> float:
        units = content_units(q, language)
        return len(units & said) / len(units) if units else 0.0

    ranked = sorted(range(len(unique)), key=lambda i: (-shared(unique[i]), i))
    return [unique[i] for i in ranked[:MAX_RIVALS]]


def _mean(logprobs: Sequence[float]) -> float:
    return sum(logprobs) / len(logprobs) if logprobs else 0.0
