"""The statuses a job, an interview and its recording go through: the values stored, sent by the API and checked by streams.

String enums, so a stored value compares equal to its member and the wire and the database carry plain strings.
"""

from __future__ import annotations

import enum


class InterviewStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


# Over for good: it cannot be joined again, and it can be scored.
ENDED = frozenset({InterviewStatus.COMPLETED, InterviewStatus.ABANDONED})


class RecordingStatus(enum.StrEnum):
    NONE = "none"  # not recording: no consent yet, consent refused or withdrawn, or nothing to record
    RECORDING = "recording"
    COMPLETE = "complete"
    FAILED = "failed"


class JobStatus(enum.StrEnum):
    DRAFTING = "drafting"  # the model is drafting the plan; interviews wait until it is ready
    READY = "ready"


class ReportSource(enum.StrEnum):
    """Where a report version came from."""

    INTERVIEW = "interview"  # scored as the interview closed
    RESCORE = "rescore"  # POST /v1/interviews/{id}/score
    MIGRATED = "migrated"  # stored before report versions existed
