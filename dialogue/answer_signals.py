"""What a language model's probabilities say about one answer: rubric grade, genericity, relevance to its question.

Three signals, read from token log-probabilities (no text is generated), after one fixed rubric conversation
(ChatML: instructions, then graded examples from other jobs as earlier turns) that the model keeps evaluated:

- `rubric`: the expected grade (0-9) over the model's next-digit probabilities when asked to grade the answer;
- `surprisal`: the answer's mean negative log-probability per token, given its question. Fluent, generic clichés
  are predictable (low surprisal); a real event told in the candidate's own words is not;
- `relevance`: asked which question the answer was given to, how much more probable the answer makes *its*
  question than the likeliest of the plan's other questions (and than fixed questions from other fields on
  average), each against its probability after an empty answer: pointwise mutual information.

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

from dialogue.language import Language
from dialogue.llm.token_logprobs import Piece, PieceKind, TokenScorer

# Bump when the rubric prompt or how a signal is read changes: reports name the version they were scored with.
PROMPT_VERSION = "rubric-2026.12-2"
GRADES = tuple(str(d) for d in range(10))
# Beyond this many characters an answer is cut (a spoken answer of ~3 minutes); what follows is not read, so text
# appended after filler to overflow the context reaches nothing.
MAX_ANSWER_CHARS = 1400
MAX_QUESTION_CHARS = 300
MAX_PRIORS = 4096  # questions whose prior is remembered (a plan's questions recur in every interview for it)
# Questions from other fields that every answer is also compared with, so that relevance has a baseline even in a
# one-question plan.
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
    relevance: float  # nats: PMI with its question minus the highest PMI with another plan question
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


def _asking(answer: str, question: str) -> list[Piece]:
    """Which question the answer was given to: the question's tokens are measured after the answer alone."""
    return [
        Piece(rubric_prefix()),
        Piece("Answer: <<<"),
        Piece(answer, PieceKind.DATA),
        Piece(">>>\nWhich interview question was this the answer to?<|im_end|>\n<|im_start|>assistant\nQuestion: "),
        Piece(question, PieceKind.MEASURED),
    ]


def _expected_grade(logprobs: Sequence[tuple[str, float]]) -> float:
    weights = [math.exp(lp) for _, lp in logprobs]
    total = sum(weights)
    if total <= 0:
        return 0.0
    return sum(int(g) * w for (g, _), w in zip(logprobs, weights, strict=True)) / total


class SignalReader:
    """Reads `AnswerSignals` with one `TokenScorer`; remembers each question's prior (its probability after an
    empty answer), which every answer to that plan reuses."""

    def __init__(self, scorer: TokenScorer) -> None:
        self.scorer = scorer
        self._priors: dict[str, float] = {}

    async def _question_logprob(self, answer: str, question: str) -> tuple[float, int]:
        scores = await self.scorer.score(_asking(answer, question))
        return sum(scores.measured[0]), scores.prompt_tokens

    async def _prior(self, question: str) -> float:
        if question not in self._priors:
            if len(self._priors) >= MAX_PRIORS:
                self._priors.clear()
            self._priors[question] = (await self._question_logprob("", question))[0]
        return self._priors[question]

    async def read(
        self, answer: str, question: str, other_questions: Sequence[str], language: Language
    ) -> AnswerSignals:
        started = time.perf_counter()
        text = fenced(answer, MAX_ANSWER_CHARS)
        asked = fenced(question, MAX_QUESTION_CHARS)
        graded = await self.scorer.score(_grading(text, asked), next_tokens=GRADES)
        answer_lps = graded.measured[0]
        evaluated = graded.prompt_tokens
        plan_others = [fenced(q, MAX_QUESTION_CHARS) for q in other_questions]
        decoys = [fenced(q, MAX_QUESTION_CHARS) for q in DECOY_QUESTIONS[language]]
        questions = list(dict.fromkeys([asked, *plan_others, *decoys]))
        # Priors first: consecutive calls that share the answer then reuse its evaluation.
        priors = [await self._prior(q) for q in questions]
        pmis = {}
        for q, prior in zip(questions, priors, strict=True):
            logprob, n = await self._question_logprob(text, q)
            evaluated += n
            pmis[q] = logprob - prior
        # The answer must fit its own question better than any other question of the plan (an answer meant for
        # another question fits that one best), and better than questions from other fields on average.
        rivals = [pmis[q] for q in plan_others if q != asked]
        unrelated = [pmis[q] for q in decoys if q != asked]
        baseline = max([*rivals, sum(unrelated) / len(unrelated) if unrelated else 0.0])
        surprisal = -sum(answer_lps) / len(answer_lps) if answer_lps else 0.0
        pmi = pmis[asked]
        return AnswerSignals(
            rubric=_expected_grade(graded.next_token),
            surprisal=surprisal,
            relevance=pmi - baseline,
            tokens=len(answer_lps),
            prompt_tokens=evaluated,
            seconds=time.perf_counter() - started,
        )
