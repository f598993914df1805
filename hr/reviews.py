"""Human review of a finished interview: a job's reviewers and whether their review is blind, the tasks a ready
report gives them, the scorecard each submits, and what a reviewer is shown before and after submitting theirs.

Plain decisions on plain values: the store that keeps them is the caller's (the server's is server/db/reviews.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, cast, get_args

from hr.invitation_email import is_address, one_line
from hr.webhook_events import Recommendation

RECOMMENDATIONS: tuple[str, ...] = get_args(Recommendation)
# Four points and no middle, as ATS scorecards do: a reviewer has to lean one way on each dimension.
RATING_MIN, RATING_MAX = 1, 4
RATING_MEANING = {1: "definitely not", 2: "no", 3: "yes", 4: "strong yes"}
MAX_REVIEWERS = 50
MAX_COMMENT = 5000
DEFAULT_REVIEW_DUE = timedelta(days=7)

TaskReason = Literal["report_ready", "candidate_request"]
TaskStatus = Literal["pending", "done"]


class ReviewError(ValueError):
    """A reviewer list, scorecard or review the rules refuse; `code` is stable for programs, the message for people."""

    code = "invalid_review"


class InvalidScorecardError(ReviewError):
    code = "invalid_scorecard"


class DuplicateScorecardError(ReviewError):
    code = "scorecard_exists"


@dataclass(frozen=True, slots=True)
class Reviewer:
    name: str
    email: str  # lower-cased: one person, one scorecard, however they type their address


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    """A job's reviewers, notified when one of its reports is ready, and whether they review blind (the AI's score
    and the others' scorecards hidden from each until they have submitted their own)."""

    reviewers: tuple[Reviewer, ...] = ()
    blind: bool = True


@dataclass(frozen=True, slots=True)
class Scorecard:
    """One person's judgement of one interview: a rating per dimension (RATING_MIN..RATING_MAX, by the report's
    dimension names; a dimension may be left unrated) and an overall recommendation."""

    reviewer: Reviewer
    ratings: Mapping[str, int]
    recommendation: Recommendation
    comment: str | None


def reviewer(name: str, email: str) -> Reviewer:
    """A reviewer from what HR or a hiring manager typed, refused when it cannot be written to."""
    clean_name, clean_email = one_line(name), email.strip().lower()
    if not clean_name or len(clean_name) > 200:
        raise ReviewError("a reviewer's name must be 1 to 200 characters")
    if len(clean_email) > 320 or not is_address(clean_email):
        raise ReviewError(f"{email!r} is not an e-mail address (name@example.com)")
    return Reviewer(clean_name, clean_email)


def review_policy(reviewers: Iterable[tuple[str, str]], *, blind: bool) -> ReviewPolicy:
    """A job's policy from (name, e-mail) pairs; an address given twice is refused rather than silently merged."""
    people = tuple(reviewer(name, email) for name, email in reviewers)
    if len(people) > MAX_REVIEWERS:
        raise ReviewError(f"at most {MAX_REVIEWERS} reviewers per job, not {len(people)}")
    seen: set[str] = set()
    for person in people:
        if person.email in seen:
            raise ReviewError(f"reviewer {person.email} is listed twice")
        seen.add(person.email)
    return ReviewPolicy(people, blind)


def scorecard(
    person: Reviewer,
    ratings: Mapping[str, int],
    recommendation: str,
    comment: str | None,
    dimensions: Sequence[str],
) -> Scorecard:
    """A scorecard checked against the report's `dimensions`; each refusal names what to change."""
    if recommendation not in RECOMMENDATIONS:
        raise InvalidScorecardError(f"recommendation {recommendation!r} is not one of {', '.join(RECOMMENDATIONS)}")
    unknown = sorted(set(ratings) - set(dimensions))
    if unknown:
        raise InvalidScorecardError(
            f"no dimension {', '.join(map(repr, unknown))} in this interview's report; "
            f"rate {', '.join(map(repr, dimensions)) or 'none'}"
        )
    for name, value in ratings.items():
        if isinstance(value, bool) or not RATING_MIN <= value <= RATING_MAX:
            raise InvalidScorecardError(
                f"rating {value!r} for {name!r}: use {RATING_MIN} to {RATING_MAX} "
                f"({', '.join(f'{k} {v}' for k, v in RATING_MEANING.items())})"
            )
    text = (comment or "").strip() or None
    if text is not None and len(text) > MAX_COMMENT:
        raise InvalidScorecardError(f"a comment is at most {MAX_COMMENT} characters")
    return Scorecard(person, dict(ratings), cast(Recommendation, recommendation), text)


def reviewer_id(email: str) -> str:
    """A stable pseudonym for a reviewer in webhook payloads, which carry no personal data."""
    return "rv_" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Visibility:
    """What one reviewer may see of an interview's judgements now."""

    ai_score: bool  # the report's overall, per-dimension scores and recommendation
    others: bool  # the other people's scorecards


def visibility(policy_blind: bool, submitted_own: bool) -> Visibility:
    """Blind review: until a reviewer's own scorecard is in, neither the AI's judgement nor anyone else's anchors it."""
    shown = submitted_own or not policy_blind
    return Visibility(ai_score=shown, others=shown)
