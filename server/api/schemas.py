"""Request and response bodies of the REST API as msgspec structs: validation and OpenAPI come from these.

A body's unknown fields are ignored, as its schema (an open object) allows; the fields it names are checked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from dialogue.report import Report
from server.db.status import InterviewStatus, JobStatus, ReportSource

NonEmpty = Annotated[str, Meta(min_length=1, max_length=200)]
LongText = Annotated[str, Meta(max_length=20000)]
Mode = Literal["voice", "video", "text"]


class DimensionIn(Struct):
    name: NonEmpty
    weight: float
    reason: Annotated[str, Meta(max_length=500)] = ""


class QuestionIn(Struct):
    text: Annotated[str, Meta(min_length=1, max_length=1000)]
    dimension: str | None = None


class JobIn(Struct):
    title: NonEmpty
    description: LongText = ""
    requirements: Annotated[list[Annotated[str, Meta(max_length=200)]], Meta(max_length=30)] = []
    language: Literal["en", "zh"] = "en"
    dimensions: list[DimensionIn] | None = None
    questions: list[QuestionIn] | None = None
    pass_threshold: float | None = None
    # Extra questions drawn from each candidate's résumé (0 turns them off).
    resume_probes: Annotated[int, Meta(ge=0, le=5)] = 2


class PlanIn(Struct):
    """HR's edit of a job's plan: becomes its next version. Dimensions left out keep the current ones."""

    questions: list[QuestionIn]
    dimensions: list[DimensionIn] | None = None


class DimensionOut(Struct):
    name: str
    weight: float
    reason: str = ""


class QuestionOut(Struct):
    id: str
    text: str
    dimension: str


class PlanOut(Struct):
    dimensions: list[DimensionOut]
    questions: list[QuestionOut]
    version: int = 1  # 0 while the first version is being drafted
    source: str = ""  # model | rules | hr | migrated
    note: str | None = None  # how the draft went (model, time, questions replaced)


class JobOut(Struct):
    id: str
    title: str
    description: str
    requirements: list[str]
    language: str
    pass_threshold: float
    plan: PlanOut
    created_at: datetime | None
    status: JobStatus = JobStatus.READY
    resume_probes: int = 2


class CandidateIn(Struct):
    name: NonEmpty
    email: Annotated[str, Meta(max_length=320)] | None = None
    resume_text: LongText | None = None


class CandidateOut(Struct):
    id: str
    name: str
    email: str | None
    resume_text: str | None


class InterviewIn(Struct):
    job_id: NonEmpty
    candidate_id: NonEmpty
    mode: Mode = "voice"
    scheduled_at: datetime | None = None


class InterviewCreated(Struct):
    id: str
    job_id: str
    candidate_id: str
    mode: str
    candidate_token: str
    observer_token: str
    join_url: str
    status: InterviewStatus
    scheduled_at: datetime | None
    plan_version: int = 1


class TurnOut(Struct):
    seq: int
    question_id: str
    question_kind: str
    question: str
    answer: str
    start: float | None
    end: float | None


class CommentOut(Struct):
    author: str
    text: str
    created_at: datetime | None


class ProbeOut(Struct):
    id: str
    question: str
    dimension: str
    source_span: str  # verbatim in the candidate's résumé


class InterviewOut(Struct):
    id: str
    job_id: str
    candidate_id: str
    mode: str
    status: InterviewStatus
    transcript: list[TurnOut]
    report: Report | None
    comments: list[CommentOut]
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    plan_version: int = 1
    probes: list[ProbeOut] | None = None  # résumé probes; None while being drafted or without a résumé
    # When and how (hello | rest) the candidate accepted the AI notice; None: not accepted (a v1 client's hello
    # need not say).
    ai_notice_accepted_at: datetime | None = None
    ai_notice_source: str | None = None


class ReportVersionOut(Struct):
    """One stored report of an interview; versions are never changed, a re-score adds the next one."""

    version: int
    source: ReportSource  # interview (scored at its close), rescore (POST .../score) or migrated
    created_at: datetime
    report: Report | None  # None: stored in a format older than this server's (score it again)
