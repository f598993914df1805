"""The typed events `media` hands to its consumer: voice activity, partial and final transcripts, turn ends.

Every time is seconds of audio since the stream began (samples received / sample rate), never wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The VAD heard the candidate start speaking at `at`."""

    at: float


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    """The candidate stopped speaking at `at` (emitted once the pause is long enough to close a speech
    segment).
    """

    at: float


@dataclass(frozen=True, slots=True)
class TranscriptPartial:
    """A guess at the words of the open speech segment; a later partial or the final may replace it."""

    text: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class TranscriptFinal:
    """The words of one closed speech segment; never changes. Finals do not overlap and arrive in time
    order.
    """

    text: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class TurnEnded:
    """The candidate finished answering: `text` is the whole turn (its finals joined), after all of its
    finals.
    """

    text: str
    start: float
    end: float


MediaEvent = SpeechStarted | SpeechStopped | TranscriptPartial | TranscriptFinal | TurnEnded
