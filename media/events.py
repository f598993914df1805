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
    finals. `revising`: the turn is being decoded again from its whole audio and a `TurnRevised` will follow (unless
    the stream closes or the pass fails first).
    """

    text: str
    start: float
    end: float
    revising: bool = False


@dataclass(frozen=True, slots=True)
class TurnRevised:
    """The turn that ended over [`start`, `end`] (its `TurnEnded`'s times, which said `revising`), transcribed again
    from its whole audio once it was over: `text` replaces that TurnEnded's for what is kept and scored (it may be
    the same words).

    Arrives after its TurnEnded, possibly after later events; not at all when the pass failed or the stream closed
    first.
    """

    text: str
    start: float
    end: float


MediaEvent = SpeechStarted | SpeechStopped | TranscriptPartial | TranscriptFinal | TurnEnded | TurnRevised
