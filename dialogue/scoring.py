"""Scores answers from a language model's probabilities, and builds a session's report from the answer scores.

An answer's score is 10 x content x specificity x relevance x substance, each factor in [0, 1]:

- content: the rubric grade (expected value over the next digit after graded examples) / 9;
- specificity: from the answer's surprisal and detail; wording as predictable as fluent clichés, naming nothing a
  listener could not have guessed, is scaled down;
- relevance: from how much better its own question predicts the answer than the likeliest other plan question;
- substance: an answer that is mostly a comma-separated list of keywords is scaled down.

Text addressed to the scorer or an AI is removed and the answer is read with and without it: the lower score is
kept. Every main question is judged on all its turns joined (follow-ups count inside their main question only).
A dimension without a judgeable answer is `insufficient_evidence`: left out of `overall` (weights renormalised),
and the report asks for a person (`needs_human_review`).
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from typing import Any

from dialogue.answer_signals import MAX_ANSWER_CHARS, PROMPT_VERSION, AnswerSignals, SignalReader, fenced
from dialogue.injection import addressed_to_scorer, as_prompt_data, without_spans
from dialogue.language import Language, length_units
from dialogue.llm.base import LLMBackend, LLMError
from dialogue.llm.structured import generate_structured
from dialogue.plan import COMMUNICATION, InterviewPlan
from dialogue.prompting import render
from dialogue.read_queue import Urgency
from dialogue.report import (
    AnswerScore,
    Band,
    DimensionScore,
    DimensionStatus,
    Factors,
    Report,
    ScorerInfo,
    Signals,
    band,
    overall_score,
    recommend,
)
from dialogue.scoring_text import scoring_text
from dialogue.session import Turn
from media.sentences import split_sentences

log = logging.getLogger(__name__)

# Fewer recognised words than this (English words, or Chinese characters) is not an answer one can judge.
MIN_UNITS = {"en": 8, "zh": 12}
# Specificity: wording counts as generic when both its mean surprisal (nats/token) and its detail (the mean surprisal
# of its least expected tokens, the names, dates and figures of a real event) are low. Either signal at its SPECIFIC
# value or above clears it: a polished answer about a real event is fluent (low mean) but names things (high
# detail). Dev split (tests/dialogue/scoring_devset): see the README's scoring table for the medians per label.
SURPRISAL_GENERIC = {"en": 2.5, "zh": 2.7}
SURPRISAL_SPECIFIC = {"en": 3.3, "zh": 3.5}
DETAIL_GENERIC = {"en": 7.8, "zh": 7.8}
DETAIL_SPECIFIC = {"en": 9.0, "zh": 9.2}
SPECIFICITY_FLOOR = 0.35  # a generic answer keeps this share of its content score
# Relevance (nats per answer token: how much better the answer's opening is predicted after its own question than
# after the likeliest of up to three other plan questions): at or below LOW another question fits it
# clearly better. Questions of one plan share a field, so a real answer can fit a sibling question almost as well:
# the ramp is wide and the floor high.
RELEVANCE_LOW = -0.25
RELEVANCE_HIGH = 0.05
RELEVANCE_FLOOR = 0.3
# An answer whose text is mostly short comma-separated fragments is a keyword list.
LIST_FRAGMENTS = 6
LIST_SHARE = 0.6
LIST_SUBSTANCE = 0.3
MAX_EVIDENCE = 2
JUDGE_MAX_TOKENS = 200
JUDGED_CACHE = 1024  # answers remembered across sessions (an answer re-read at report time is not re-scored)

_SEPARATORS = re.compile(r"[,，、;；/|]")


def keyword_list_share(text: str, language: Language) -> float:
    """The share of an answer's fragments (between commas) that are a few words long; 0 for fewer than 6."""
    fragments = [f.strip(" .。!！?？") for f in _SEPARATORS.split(text)]
    fragments = [f for f in fragments if f]
    if len(fragments) < LIST_FRAGMENTS:
        return 0.0
    short = 6 if language == "zh" else 3
    return sum(1 for f in fragments if length_units(f, language) <= short) / len(fragments)


def _ramp(x: float, low: float, high: float) -> float:
    return max(0.0, min(1.0, (x - low) / (high - low)))


def factors(signals: AnswerSignals, text: str, language: Language) -> Factors:
    specific = max(
        _ramp(signals.surprisal, SURPRISAL_GENERIC[language], SURPRISAL_SPECIFIC[language]),
        _ramp(signals.detail, DETAIL_GENERIC[language], DETAIL_SPECIFIC[language]),
    )
    relevant = _ramp(signals.relevance, RELEVANCE_LOW, RELEVANCE_HIGH)
    return Factors(
        content=max(0.0, min(1.0, signals.rubric / 9)),
        specificity=SPECIFICITY_FLOOR + (1 - SPECIFICITY_FLOOR) * specific,
        relevance=RELEVANCE_FLOOR + (1 - RELEVANCE_FLOOR) * relevant,
        substance=LIST_SUBSTANCE if keyword_list_share(text, language) >= LIST_SHARE else 1.0,
    )


def combined(f: Factors) -> float:
    return round(10 * f.content * f.specificity * f.relevance * f.substance, 2)


@dataclass(frozen=True, slots=True)
class _Read:
    score: float
    signals: AnswerSignals
    factors: Factors


class AnswerJudge:
    """Judges answers with one `SignalReader`; the same text to the same question is read once."""

    def __init__(self, reader: SignalReader | None) -> None:
        self.reader = reader
        self._done: OrderedDict[tuple[str, str, tuple[str, ...]], AnswerScore] = OrderedDict()

    @property
    def scored_by(self) -> str:
        return self.reader.scorer.name if self.reader else "none"

    async def _read(
        self, text: str, question: str, others: Sequence[str], language: Language, urgency: Urgency | None
    ) -> _Read:
        assert self.reader is not None
        signals = await self.reader.read(text, question, others, language, urgency=urgency)
        f = factors(signals, text, language)
        return _Read(combined(f), signals, f)

    async def judge(
        self, plan: InterviewPlan, question_id: str, turns: Sequence[Turn], urgency: Urgency | None = None
    ) -> AnswerScore:
        """The score of everything said to main question `question_id` so far; `urgency` is the session's place in
        the scorer's queue."""
        question = next(q for q in plan.questions if q.id == question_id)
        said = " ".join(t.answer.strip() for t in turns if t.main_question_id == question_id and t.answer.strip())
        others = tuple(q.text for q in plan.questions if q.id != question_id)
        key = (question.text, said, others)
        if key in self._done:
            self._done.move_to_end(key)
            return self._done[key]
        spans = addressed_to_scorer(said)
        clean = without_spans(said, spans) if spans else said
        n_turns = sum(1 for t in turns if t.main_question_id == question_id)
        base = AnswerScore(question_id, question.text, question.dimension, n_turns, None, None, None)
        if self.reader is None or length_units(clean, plan.language) < MIN_UNITS[plan.language]:
            return base
        try:
            read = await self._read(clean, question.text, others, plan.language, urgency)
            seconds = read.signals.seconds
            if spans:
                # The answer as said, instructions included, may not score higher than without them.
                full = await self._read(said, question.text, others, plan.language, urgency)
                seconds += full.signals.seconds
                read = min(read, full, key=lambda r: r.score)
        except LLMError as exc:
            # Unscored, not scored 0: the dimension becomes insufficient_evidence and a person looks.
            log.error("the scoring model failed on %s: %s", question_id, exc)
            return base
        s = read.signals
        result = AnswerScore(
            question_id,
            question.text,
            question.dimension,
            n_turns,
            read.score,
            Signals(round(s.rubric, 3), round(s.surprisal, 3), round(s.detail, 3), round(s.relevance, 3), s.tokens),
            Factors(*(round(x, 3) for x in astuple(read.factors))),
            removed=tuple(said[sp.start : sp.end].strip() for sp in spans),
            truncated=len(fenced(clean, MAX_ANSWER_CHARS + 1)) > MAX_ANSWER_CHARS,
        )
        # Time is logged, not reported: the same transcript gives the same report.
        log.info("scored %s in %.2f s: %s", question_id, seconds, result.score)
        self._done[key] = result
        if len(self._done) > JUDGED_CACHE:
            self._done.popitem(last=False)
        return result


def _answers_for(dimension: str, answers: Sequence[AnswerScore], plan: InterviewPlan) -> list[AnswerScore]:
    """A dimension's own questions; communication, and a dimension no question targets, is judged on all."""
    if dimension == COMMUNICATION[plan.language] or not any(q.dimension == dimension for q in plan.questions):
        return list(answers)
    return [a for a in answers if a.dimension == dimension]


def _evidence(answers: Sequence[AnswerScore], turns: Sequence[Turn]) -> tuple[str, ...]:
    """The longest sentences of the best-scored answers, verbatim, never text that was removed as injection."""
    quotes: list[str] = []
    for a in sorted(answers, key=lambda a: -(a.score or 0)):
        said = [t.answer for t in turns if t.main_question_id == a.question_id]
        sentences = [s for text in said for s in split_sentences(text)]
        sentences = [
            s for s in sentences if not any(r in s or s in r for r in a.removed) and not addressed_to_scorer(s)
        ]
        quotes += sorted(sentences, key=len, reverse=True)[:1]
        if len(quotes) >= MAX_EVIDENCE:
            break
    return tuple(quotes)


def _weakest(a: AnswerScore) -> str | None:
    if a.factors is None:
        return None
    f = a.factors
    named = {"content": f.content, "specificity": f.specificity, "relevance": f.relevance, "substance": f.substance}
    name, value = min(named.items(), key=lambda kv: kv[1])
    return name if value < 0.6 else None


_JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"score": {"type": "integer", "enum": list(range(11))}},
    "required": ["score"],
}


def _parse_judge(raw: Any) -> int:
    score = raw["score"]
    if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 10:
        raise ValueError(f"score {score!r} is not an integer from 0 to 10")
    return score


async def _judge_dimension(
    judge: LLMBackend, plan: InterviewPlan, dimension: str, answers: Sequence[AnswerScore], turns: Sequence[Turn]
) -> int | None:
    """A configured model's own 0-10 for a dimension; candidate words are fenced, flattened and cut."""
    lines = []
    for a in answers:
        said = " ".join(t.answer for t in turns if t.main_question_id == a.question_id)
        lines.append(f"Q: {a.question}\nA: <<<{as_prompt_data(fenced(said, MAX_ANSWER_CHARS), MAX_ANSWER_CHARS)}>>>")
    messages = render("judge", plan.language, title=plan.title, dimension=dimension, answers="\n".join(lines))
    return await generate_structured(judge, messages, _JUDGE_SCHEMA, _parse_judge, max_tokens=JUDGE_MAX_TOKENS)


async def build_report(
    plan: InterviewPlan,
    turns: Sequence[Turn],
    answers: Sequence[AnswerScore],
    *,
    scorer: ScorerInfo,
    judge: LLMBackend | None = None,
) -> Report:
    """The report from judged answers (one per answered main question)."""
    text = scoring_text(plan.language)
    dimensions: list[DimensionScore] = []
    notes: list[str] = []
    # No model read any answer: the one no_scorer note says why, rather than a note per dimension.
    unscored = scorer.scored_by == "none" and all(a.score is None for a in answers)
    for d in plan.dimensions:
        own = _answers_for(d.name, answers, plan)
        judged = [a for a in own if a.score is not None]
        if not judged:
            why = (text.unscored if unscored else text.insufficient).format(dimension=d.name)
            dimensions.append(
                DimensionScore(
                    d.name, round(d.weight, 6), DimensionStatus.INSUFFICIENT_EVIDENCE, None,
                    Band.INSUFFICIENT_EVIDENCE, (), why, (), tuple(a.question_id for a in own),
                )
            )  # fmt: skip
            if not unscored:
                notes.append(why)
            continue
        score = round(sum(a.score or 0 for a in judged) / len(judged), 1)
        rationale = " ".join(
            text.rationale.format(
                question_id=a.question_id, score=a.score, rubric=a.signals.rubric, surprisal=a.signals.surprisal,
                detail=a.signals.detail,
                margin=a.signals.relevance, content=a.factors.content, specificity=a.factors.specificity,
                relevance=a.factors.relevance, substance=a.factors.substance,
            )
            for a in judged
            if a.signals is not None and a.factors is not None
        )  # fmt: skip
        weak = [w for w in (_weakest(a) for a in judged) if w]
        suggestions = tuple(dict.fromkeys(text.suggestion[w] for w in weak))
        model_score = None
        if judge is not None:
            verdict = await _judge_dimension(judge, plan, d.name, judged, turns)
            if verdict is not None:
                model_score = float(verdict)
                rationale += " " + text.judge.format(model=judge.name, score=verdict)
        dimensions.append(
            DimensionScore(
                d.name, round(d.weight, 6), DimensionStatus.SCORED, score, band(score), _evidence(judged, turns),
                rationale, suggestions, tuple(a.question_id for a in own), model_score,
            )
        )  # fmt: skip
    scored = [d for d in dimensions if d.score is not None]
    overall = overall_score(
        {d.name: d.score for d in scored if d.score is not None}, {d.name: d.weight for d in dimensions}
    )
    removed = sum(len(a.removed) for a in answers)
    if removed:
        notes.append(text.injection.format(count=removed))
    if any(a.truncated for a in answers):
        notes.append(text.truncated.format(chars=MAX_ANSWER_CHARS))
    if scorer.scored_by == "none":
        notes.append(text.no_scorer)
    strengths = tuple(text.strength.format(dimension=d.name) for d in scored if d.band in (Band.STRONG, Band.SOLID))
    weaknesses = []
    for dim in scored:
        for a in _answers_for(dim.name, answers, plan):
            w = _weakest(a)
            if w:
                weaknesses.append(text.weakness[w].format(dimension=dim.name))
    suggestions = tuple(dict.fromkeys(s for d in dimensions for s in d.suggestions))
    return Report(
        overall=overall,
        recommendation=recommend(overall, plan.pass_threshold),
        needs_human_review=len(scored) < len(dimensions) or removed > 0 or overall is None,
        dimensions=tuple(dimensions),
        answers=tuple(answers),
        strengths=strengths,
        weaknesses=tuple(dict.fromkeys(weaknesses)),
        suggestions=suggestions,
        scored_by=scorer.scored_by,
        scorer=scorer,
        pass_threshold=plan.pass_threshold,
        language=plan.language,
        answered_questions=len({t.main_question_id for t in turns if t.main_question_id != "closing"}),
        total_questions=len(plan.questions),
        notes=tuple(notes),
        plan_version=plan.version,
    )


def scorer_info(judge: AnswerJudge, model: LLMBackend | None = None) -> ScorerInfo:
    sha = judge.reader.scorer.model_sha256 if judge.reader else None
    return ScorerInfo(judge.scored_by, sha, PROMPT_VERSION, model.name if model else None)


def answered_ids(plan: InterviewPlan, turns: Sequence[Turn]) -> list[str]:
    said = {t.main_question_id for t in turns if t.answer.strip()}
    return [q.id for q in plan.questions if q.id in said]


async def score_session(
    plan: InterviewPlan,
    turns: Sequence[Turn],
    *,
    judge: AnswerJudge | None = None,
    model_judge: LLMBackend | None = None,
) -> Report:
    """The report for a finished session's transcript (deterministic: same turns, same report)."""
    judge = judge or AnswerJudge(None)
    answers = [await judge.judge(plan, qid, turns) for qid in answered_ids(plan, turns)]
    return await build_report(plan, turns, answers, scorer=scorer_info(judge, model_judge), judge=model_judge)
