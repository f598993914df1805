"""How each question version performs: valid-answer rates, rephrase and follow-up rates, abandonment, answer
length, discrimination and AI–human agreement, and the A/B comparison of two versions of one question.

The scorer's judgements (relevance, refusal, STAR elements, scores) come in as typed inputs; nothing here scores.
"""

from __future__ import annotations

import math
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from dialogue.language import Language, words
from dialogue.report import Band, band

MIN_WORDS_EN = 25
MIN_CHARS_ZH = 40
MIN_STAR_ELEMENTS = 2  # of situation, task/action, result: a behavioural answer with fewer tells no story
# AI and human ratings on the reviewers' scorecard scale, 1 to 4, held here as 0 to 3: a reviewer rates each
# dimension 1 (definitely not) to 4 (strong yes); the AI's answer score is placed in the report's four bands.
RATING_LEVELS = 4
# Fewer pairs than this and the item-total correlation is noise.
MIN_DISCRIMINATION_PAIRS = 10
ALPHA = 0.05


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    relevant: bool  # the scorer's relevance signal for this question, decided by the caller
    refusal: bool  # the candidate declined to answer
    star_elements: int  # how many STAR elements it shows (dialogue.answer_features.star_elements)


@dataclass(frozen=True, slots=True)
class Asking:
    """One interview's encounter with one version of one question."""

    interview_id: str
    question_id: str
    version: int
    language: Language
    behavioural: bool
    first_answer: Answer | None  # None: asked, never answered
    follow_up_answer: Answer | None  # after the follow-up, when one was asked and answered
    followed_up: bool
    rephrase_requested: bool
    abandoned: bool  # the candidate left the interview at this question
    score: float | None = None  # the answer's score on the 0-10 scale; None when unscored
    ai_rating: int | None = None  # the AI's and a human reviewer's rating, 0-3 (see RATING_LEVELS), where a human
    human_rating: int | None = None  # reviewed (ai_level and human_level say how each is placed)


@dataclass(frozen=True, slots=True)
class Proportion:
    hits: int
    n: int
    rate: float
    ci_low: float  # Wilson 95 %
    ci_high: float


@dataclass(frozen=True, slots=True)
class QuestionVersionStats:
    question_id: str
    version: int
    language: Language
    times_asked: int
    valid_first: Proportion  # a valid answer to the question as first asked
    valid_after_follow_up: Proportion  # valid at first, or after the follow-up
    rephrase_requests: Proportion
    follow_ups: Proportion
    abandonment: Proportion
    median_answer_length: float | None  # first answers, in words (en) or characters (zh)
    discrimination: float | None  # corrected item-total correlation
    discrimination_pairs: int
    agreement_kappa: float | None  # quadratic-weighted kappa, AI against human
    reviewed: int


@dataclass(frozen=True, slots=True)
class VersionComparison:
    """Version b against version a on the first-pass valid-answer rate."""

    a: Proportion
    b: Proportion
    difference: float  # b's rate minus a's
    z: float
    p_value: float  # two-sided, pooled two-proportion z-test
    significant: bool


def answer_length(text: str, language: Language) -> int:
    """Words in English; in Chinese, letters and digits (punctuation and spaces carry no content)."""
    if language == "zh":
        return sum(unicodedata.category(c)[0] in "LN" for c in text)
    return len(words(text))


def is_valid_answer(answer: Answer | None, language: Language, behavioural: bool) -> bool:
    if answer is None or not answer.text.strip() or answer.refusal or not answer.relevant:
        return False
    if answer_length(answer.text, language) < (MIN_CHARS_ZH if language == "zh" else MIN_WORDS_EN):
        return False
    return not behavioural or answer.star_elements >= MIN_STAR_ELEMENTS


_BAND_LEVEL = {Band.LIMITED: 0, Band.DEVELOPING: 1, Band.SOLID: 2, Band.STRONG: 3}


def ai_level(score: float) -> int:
    """An answer score (0-10) on the scorecard's scale: its report band, limited 0 to strong 3."""
    return _BAND_LEVEL[band(score)]


def human_level(ratings: Sequence[int]) -> int:
    """Reviewers' ratings (1-4) of a question's dimension as one level 0-3: their median, halves rounded up."""
    return math.floor(float(np.median(ratings)) + 0.5) - 1


def wilson(hits: int, n: int) -> Proportion:
    ci = stats.binomtest(hits, n).proportion_ci(confidence_level=0.95, method="wilson")
    return Proportion(hits, n, hits / n, float(ci.low), float(ci.high))


def quadratic_weighted_kappa(a: Sequence[int], b: Sequence[int], levels: int = RATING_LEVELS) -> float | None:
    """Agreement of two raters on an ordinal scale 0..levels-1, where a disagreement costs its squared distance;
    1 is perfect, 0 what chance gives. None when chance alone would leave nothing to disagree about."""
    observed = np.zeros((levels, levels))
    np.add.at(observed, (np.asarray(a), np.asarray(b)), 1)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    i, j = np.indices((levels, levels))
    weights = (i - j) ** 2 / (levels - 1) ** 2
    chance = float((weights * expected).sum())
    return 1 - float((weights * observed).sum()) / chance if chance > 0 else None


def _rest_scores(askings: Sequence[Asking]) -> dict[tuple[str, str, int], float]:
    """Each scored asking's interview mean over its *other* scored answers: the total the item is correlated with,
    with the item left out so that it does not correlate with itself."""
    by_interview: dict[str, list[Asking]] = defaultdict(list)
    for asking in askings:
        if asking.score is not None:
            by_interview[asking.interview_id].append(asking)
    rest = {}
    for interview, scored in by_interview.items():
        for asking in scored:
            others = [o.score for o in scored if o is not asking and o.score is not None]
            if others:
                rest[(interview, asking.question_id, asking.version)] = float(np.mean(others))
    return rest


def _discrimination(items: Sequence[float], rests: Sequence[float]) -> float | None:
    if len(items) < MIN_DISCRIMINATION_PAIRS or np.ptp(items) == 0 or np.ptp(rests) == 0:
        return None
    return float(stats.pearsonr(items, rests).statistic)


def _version_stats(askings: Sequence[Asking], rest: dict[tuple[str, str, int], float]) -> QuestionVersionStats:
    first = askings[0]
    languages = {a.language for a in askings}
    if len(languages) > 1:
        raise ValueError(f"question {first.question_id} v{first.version} is asked in {sorted(languages)}: one only")
    n = len(askings)
    valid_first = [is_valid_answer(a.first_answer, a.language, a.behavioural) for a in askings]
    valid_later = [
        v or is_valid_answer(a.follow_up_answer, a.language, a.behavioural)
        for v, a in zip(valid_first, askings, strict=True)
    ]
    lengths = [answer_length(a.first_answer.text, a.language) for a in askings if a.first_answer is not None]
    pairs = [
        (a.score, rest[(a.interview_id, a.question_id, a.version)])
        for a in askings
        if a.score is not None and (a.interview_id, a.question_id, a.version) in rest
    ]
    reviewed = [
        (a.ai_rating, a.human_rating) for a in askings if a.ai_rating is not None and a.human_rating is not None
    ]
    return QuestionVersionStats(
        question_id=first.question_id,
        version=first.version,
        language=first.language,
        times_asked=n,
        valid_first=wilson(sum(valid_first), n),
        valid_after_follow_up=wilson(sum(valid_later), n),
        rephrase_requests=wilson(sum(a.rephrase_requested for a in askings), n),
        follow_ups=wilson(sum(a.followed_up for a in askings), n),
        abandonment=wilson(sum(a.abandoned for a in askings), n),
        median_answer_length=float(np.median(lengths)) if lengths else None,
        discrimination=_discrimination([p[0] for p in pairs], [p[1] for p in pairs]),
        discrimination_pairs=len(pairs),
        agreement_kappa=quadratic_weighted_kappa([r[0] for r in reviewed], [r[1] for r in reviewed])
        if reviewed
        else None,
        reviewed=len(reviewed),
    )


def question_analytics(askings: Sequence[Asking]) -> tuple[QuestionVersionStats, ...]:
    """Statistics per (question, version), over every asking given: pass all of a job's askings, since each
    answer's discrimination is measured against the same interview's other answers."""
    rest = _rest_scores(askings)
    groups: dict[tuple[str, int], list[Asking]] = defaultdict(list)
    for asking in askings:
        groups[(asking.question_id, asking.version)].append(asking)
    return tuple(_version_stats(groups[key], rest) for key in sorted(groups))


def two_proportion_z_test(hits_a: int, n_a: int, hits_b: int, n_b: int) -> tuple[float, float]:
    """z and two-sided p for b's rate against a's, with the pooled standard error of 'no difference'."""
    pooled = (hits_a + hits_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return 0.0, 1.0
    z = (hits_b / n_b - hits_a / n_a) / se
    return z, float(2 * stats.norm.sf(abs(z)))


def compare_versions(a: QuestionVersionStats, b: QuestionVersionStats) -> VersionComparison:
    """Compares first-pass valid-answer rates: a follow-up can rescue a vague wording, which the later rate would
    hide, and the wording is what a new version changes."""
    pa, pb = a.valid_first, b.valid_first
    z, p = two_proportion_z_test(pa.hits, pa.n, pb.hits, pb.n)
    return VersionComparison(pa, pb, pb.rate - pa.rate, z, p, p < ALPHA)
