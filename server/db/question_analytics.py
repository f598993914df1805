"""A job's askings of each question version, read from what is stored: the interviews with a report, their turns,
their reports' answer signals and the job's plan versions; the input `hr.question_analytics` computes from.

A question's version is the plan version that introduced its wording: a plan version that changes only weights or
other questions leaves a question's version, and so its figures, as they were.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from dialogue.answer_features import star_elements
from dialogue.follow_up import is_behavioural
from dialogue.language import Language, length_units
from dialogue.plan import InterviewPlan
from dialogue.report import AnswerScore
from dialogue.scoring import RELEVANCE_HIGH, RELEVANCE_LOW
from dialogue.session import QuestionKind
from hr.question_analytics import MIN_CHARS_ZH, MIN_WORDS_EN, Answer, Asking, ai_level, human_level
from server.db.status import InterviewStatus
from server.db.store import Store, StoredReportError, plan_from_json, report_from_json
from server.db.tables import InterviewRow, PlanVersionRow, ScorecardRow, TurnRow

# The scorer ramps its relevance factor from no credit at RELEVANCE_LOW to full credit at RELEVANCE_HIGH; an answer
# counts as relevant once it earns at least half of that credit.
RELEVANT_FROM = (RELEVANCE_LOW + RELEVANCE_HIGH) / 2

# A refusal opens with a decline and says little else: a long answer that starts "I don't know the exact figure,
# but ..." is an answer.
_REFUSAL_EN = re.compile(
    r"^\W*(i (don'?t|do not|can'?t|cannot) (know|answer|say|remember|tell)|i'?d rather not|i (would )?prefer not"
    r"|no comment|pass\b|skip\b|next question|i have no (idea|answer|example))",
    re.IGNORECASE,
)
_REFUSAL_ZH = re.compile(
    r"^\W*(我?不知道|不想(回答|说)|不方便(回答|说|透露)|无可奉告|跳过|没有(经验|例子)|不清楚|不记得)"
)
REFUSAL_MAX_FACTOR = 2  # a decline longer than twice the valid-answer minimum is an answer that hedged first


@dataclass(frozen=True, slots=True)
class QuestionVersion:
    question_id: str
    version: int  # the plan version that introduced this wording
    text: str
    dimension: str


@dataclass(frozen=True, slots=True)
class JobAskings:
    askings: tuple[Asking, ...]
    versions: tuple[QuestionVersion, ...]  # every version asked, by question id then version
    interviews: int  # with a readable report
    unreadable_reports: int  # stored in a format older than this server's (score them again to include them)


def is_refusal(text: str, language: Language) -> bool:
    minimum = MIN_CHARS_ZH if language == "zh" else MIN_WORDS_EN
    pattern = _REFUSAL_ZH if language == "zh" else _REFUSAL_EN
    return bool(pattern.search(text.strip())) and length_units(text, language) <= REFUSAL_MAX_FACTOR * minimum


def question_versions(plans: Sequence[tuple[int, InterviewPlan]]) -> dict[tuple[int, str], QuestionVersion]:
    """(plan version, question id) → its question version: the earliest plan version with that id and wording."""
    introduced: dict[tuple[str, str], int] = {}
    found = {}
    for version, plan in sorted(plans, key=lambda p: p[0]):
        for q in plan.questions:
            first = introduced.setdefault((q.id, q.text), version)
            found[(version, q.id)] = QuestionVersion(q.id, first, q.text, q.dimension)
    return found


def _answer(text: str, scored: AnswerScore | None, language: Language) -> Answer:
    relevant = scored is not None and scored.signals is not None and scored.signals.relevance >= RELEVANT_FROM
    return Answer(text, relevant, is_refusal(text, language), len(star_elements(text, language)))


def _askings(
    interview_id: str,
    abandoned: bool,
    plan: InterviewPlan,
    versions: dict[tuple[int, str], QuestionVersion],
    turns: Sequence[TurnRow],
    answers: dict[str, AnswerScore],
    ratings: Mapping[str, Sequence[int]],
) -> list[Asking]:
    """One interview's askings in plan order: every question it answered, and the one it was left at, if any.

    `ratings` are the reviewers' scorecard ratings of each dimension: a question is rated by a human through its
    dimension (a scorecard rates dimensions, not answers), the AI by its answer's score."""
    by_question: dict[str, list[TurnRow]] = defaultdict(list)
    for t in turns:
        by_question[t.main_question_id].append(t)
    answered = [i for i, q in enumerate(plan.questions) if q.id in by_question]
    # Turns are stored as answers end; the question after the last one answered was being asked when the candidate
    # left (or, with no answer at all, the first). One who left after answering every question left at none.
    left_at = (answered[-1] + 1 if answered else 0) if abandoned else None
    found = []
    for i, q in enumerate(plan.questions):
        own = sorted(by_question.get(q.id, []), key=lambda t: t.seq)
        if not own and i != left_at:
            continue
        main = [t for t in own if t.question_kind == QuestionKind.MAIN.value]
        follow_ups = [t for t in own if t.question_kind == QuestionKind.FOLLOW_UP.value]
        scored = answers.get(q.id)
        first = _answer(main[0].answer, scored, plan.language) if main else None
        # The scorer reads the first answer and the follow-up's together, and so does the rate after follow-up.
        whole = " ".join(t.answer for t in main[:1] + follow_ups)
        later = _answer(whole, scored, plan.language) if main and follow_ups else None
        found.append(
            Asking(
                interview_id=interview_id,
                question_id=q.id,
                version=versions[(plan.version, q.id)].version,
                language=plan.language,
                behavioural=is_behavioural(q.text),
                first_answer=first,
                follow_up_answer=later,
                followed_up=bool(follow_ups),
                # A rephrased question is stored with the rephrasing's words, not the plan's.
                rephrase_requested=bool(main) and main[0].question_text != q.text,
                abandoned=i == left_at,
                score=scored.score if scored is not None else None,
                **_ratings(scored, ratings.get(q.dimension, ())),
            )
        )
    return found


def _ratings(scored: AnswerScore | None, human: Sequence[int]) -> dict[str, int]:
    """The AI's and the reviewers' rating of one answer on the scorecard's levels, where both exist."""
    if scored is None or scored.score is None or not human:
        return {}
    return {"ai_rating": ai_level(scored.score), "human_rating": human_level(human)}


class QuestionAskings:
    """Reads a job's askings over the store's engine."""

    def __init__(self, store: Store) -> None:
        self._session = async_sessionmaker(store.engine, expire_on_commit=False)

    async def plan_version_numbers(self, job_id: str) -> list[int]:
        query = select(PlanVersionRow.version).where(PlanVersionRow.job_id == job_id).order_by(PlanVersionRow.version)
        async with self._session() as s:
            return list((await s.scalars(query)).all())

    async def of_job(
        self, job_id: str, plan_version: int | None = None, start: date | None = None, end: date | None = None
    ) -> JobAskings:
        """The askings of the job's interviews with a report that ended between `start` and `end` inclusive (UTC
        days), of one plan version or all."""
        chosen: list[ColumnElement[bool]] = [InterviewRow.job_id == job_id, InterviewRow.report.is_not(None)]
        if plan_version is not None:
            chosen.append(InterviewRow.plan_version == plan_version)
        ended = func.coalesce(InterviewRow.ended_at, InterviewRow.created_at)
        if start is not None:
            chosen.append(ended >= datetime.combine(start, time(), UTC))
        if end is not None:
            chosen.append(ended < datetime.combine(end + timedelta(days=1), time(), UTC))
        async with self._session() as s, s.begin():  # one snapshot for every read
            plan_rows = (await s.scalars(select(PlanVersionRow).where(PlanVersionRow.job_id == job_id))).all()
            interviews = (await s.scalars(select(InterviewRow).where(*chosen).order_by(InterviewRow.id))).all()
            # By a join on the same conditions, not a list of ids: a job may have more interviews than a statement
            # may carry parameters.
            turn_rows = (
                await s.scalars(
                    select(TurnRow).join(InterviewRow, InterviewRow.id == TurnRow.interview_id).where(*chosen)
                )
            ).all()
            cards = (
                await s.scalars(
                    select(ScorecardRow).join(InterviewRow, InterviewRow.id == ScorecardRow.interview_id).where(*chosen)
                )
            ).all()
        plans = {row.version: plan_from_json(row.plan) for row in plan_rows}
        rated: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for card in cards:
            for dimension, value in card.ratings.items():
                rated[card.interview_id][dimension].append(int(value))
        versions = question_versions(list(plans.items()))
        turns: dict[str, list[TurnRow]] = defaultdict(list)
        for t in turn_rows:
            turns[t.interview_id].append(t)
        askings: list[Asking] = []
        readable, unreadable = 0, 0
        for row in interviews:
            if not row.report or row.plan_version not in plans:
                continue  # a JSON null, or an interview of a plan still being drafted
            try:
                report = report_from_json(row.report)
            except StoredReportError:
                unreadable += 1
                continue
            readable += 1
            answers = {a.question_id: a for a in report.answers}
            abandoned = row.status == InterviewStatus.ABANDONED
            plan = plans[row.plan_version]
            askings += _askings(row.id, abandoned, plan, versions, turns[row.id], answers, rated[row.id])
        asked = {(a.question_id, a.version) for a in askings}
        shown = sorted({v for v in versions.values() if (v.question_id, v.version) in asked}, key=_order)
        return JobAskings(tuple(askings), tuple(shown), readable, unreadable)


def _order(v: QuestionVersion) -> tuple[str, int]:
    return (v.question_id, v.version)
