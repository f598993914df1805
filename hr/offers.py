"""Offer suggestions: when people's review of an interview is positive, what offer to suggest (role, level hint,
start-date window), and HR's named approval or rejection of it. Nothing here sends an offer to anyone.

Plain decisions on plain values; the store that keeps suggestions is the caller's (the server's is
server/db/handoffs.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

from dialogue.report import Band, Report

Level = Literal["junior", "mid", "senior"]
Verdict = Literal["approve", "reject"]
OfferStatus = Literal["pending", "approved", "rejected"]
LEVELS: tuple[Level, ...] = ("junior", "mid", "senior")
# The overall score (0-10) at or above which the level hint starts at mid or senior, before the bands pull it down.
SENIOR_FROM, MID_FROM = 8.0, 6.5
POSITIVE = frozenset({"strong_yes", "yes"})
NEGATIVE = frozenset({"no", "definitely_not"})
MAX_NAME = 200
MAX_NOTE = 2000


class OfferError(ValueError):
    """A suggestion or decision the rules refuse; `code` is stable for programs, the message for people."""

    code = "invalid_offer"


class AlreadyDecidedError(OfferError):
    code = "offer_decided"


@dataclass(frozen=True, slots=True)
class StartWindow:
    """How many days after the positive decision a start date is suggested: from `earliest_days` to `latest_days`."""

    earliest_days: int = 14
    latest_days: int = 45

    def __post_init__(self) -> None:
        if not 0 <= self.earliest_days <= self.latest_days <= 365:
            raise OfferError(
                f"a start-date window of {self.earliest_days} to {self.latest_days} days: "
                "use 0 <= earliest <= latest <= 365"
            )


@dataclass(frozen=True, slots=True)
class LevelHint:
    level: Level
    reason: str  # the figures it came from, for the person who approves


@dataclass(frozen=True, slots=True)
class OfferSuggestion:
    """A suggested offer for one interview's candidate, waiting for HR (`pending`) until a named person approves or
    rejects it. `decided_at` of the review is the day the start window counts from."""

    id: str
    interview_id: str
    job_id: str
    candidate_id: str
    role: str
    level: LevelHint
    start_earliest: date
    start_latest: date
    created_at: datetime
    status: OfferStatus = "pending"
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None


def review_is_positive(recommendations: Iterable[str]) -> bool:
    """People's recommendations (hr.reviews' strong_yes/yes/no/definitely_not/no_decision) are positive when at least
    one says yes or strong yes and none says no or definitely not; `no_decision` counts for neither side."""
    given = set(recommendations)
    return bool(given & POSITIVE) and not given & NEGATIVE


def level_hint(report: Report) -> LevelHint:
    """Junior, mid or senior, from the report's overall score and its dimensions' bands.

    The overall score sets the starting level: senior at 8.0 or more, mid at 6.5 or more, junior below. Then the
    bands pull it down one step (never below junior) when any scored dimension is `limited` (under 3.5/10) or two
    or more are `developing` (3.5 to 5.5): one strong average should not hide a gap the job will meet early.
    Dimensions with insufficient evidence count for nothing either way. No overall score: junior, and the reason
    says why."""
    if report.overall is None:
        return LevelHint("junior", "no dimension had evidence, so there is no overall score to go on")
    start = 2 if report.overall >= SENIOR_FROM else 1 if report.overall >= MID_FROM else 0
    bands = [d.band for d in report.dimensions if d.band is not Band.INSUFFICIENT_EVIDENCE]
    limited = [d.name for d in report.dimensions if d.band is Band.LIMITED]
    developing = [d.name for d in report.dimensions if d.band is Band.DEVELOPING]
    reason = f"overall {report.overall:.1f}/10 suggests {LEVELS[start]}"
    lowered = bool(limited) or len(developing) >= 2
    if lowered and start > 0:
        gaps = [f"{n} limited" for n in limited] + [f"{n} developing" for n in developing]
        reason += f"; lowered to {LEVELS[start - 1]} for {', '.join(gaps)}"
        return LevelHint(LEVELS[start - 1], reason)
    if bands and not lowered:
        reason += "; no dimension is limited and fewer than two are developing"
    return LevelHint(LEVELS[start], reason)


def suggest_offer(
    *,
    suggestion_id: str,
    interview_id: str,
    job_id: str,
    candidate_id: str,
    job_title: str,
    report: Report,
    decided_at: datetime,
    window: StartWindow,
) -> OfferSuggestion:
    """The suggestion a positive review of `report` leads to; the start window counts from the review's day."""
    day = decided_at.date()
    return OfferSuggestion(
        id=suggestion_id,
        interview_id=interview_id,
        job_id=job_id,
        candidate_id=candidate_id,
        role=job_title,
        level=level_hint(report),
        start_earliest=day + timedelta(days=window.earliest_days),
        start_latest=day + timedelta(days=window.latest_days),
        created_at=decided_at,
    )


def decide(suggestion: OfferSuggestion, verdict: Verdict, by: str, at: datetime, note: str | None) -> OfferSuggestion:
    """A named person's approval or rejection; once decided, a suggestion is not decided again."""
    name = " ".join(by.split())
    if not name:
        raise OfferError("decided_by: name the person who decides (1 to 200 characters)")
    if len(name) > MAX_NAME:
        raise OfferError(f"decided_by: at most {MAX_NAME} characters")
    text = (note or "").strip() or None
    if text is not None and len(text) > MAX_NOTE:
        raise OfferError(f"note: at most {MAX_NOTE} characters")
    if suggestion.status != "pending":
        raise AlreadyDecidedError(
            f"offer suggestion {suggestion.id} was already {suggestion.status} by {suggestion.decided_by}; "
            "a decision is not changed once made"
        )
    status: OfferStatus = "approved" if verdict == "approve" else "rejected"
    return replace(suggestion, status=status, decided_by=name, decided_at=at, note=text)
