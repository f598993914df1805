"""A segment: one stretch of speech between pauses, with its audio windows and its ASR passes, and the
LocalAgreement-2 rule that turns successive partial passes into a caption that never takes words back.
"""

from __future__ import annotations

import concurrent.futures as cf
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from media.asr import Transcript


def words(text: str, language: str) -> list[str]:
    """Units of agreement: characters in Chinese (written without spaces), words otherwise."""
    return [c for c in text if not c.isspace()] if language == "zh" else text.split()


def join_words(units: list[str], language: str) -> str:
    return "".join(units) if language == "zh" else " ".join(units)


@dataclass(eq=False)
class Segment:
    """Open while the candidate talks, closed (audio dropped) once its final is queued."""

    start: float
    windows: list[np.ndarray] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)
    speech_end: float = 0.0
    final: cf.Future[Transcript] | None = None  # speculative while open, the final once closed
    final_windows: int = 0  # how many windows that pass covers
    partial: cf.Future[Transcript] | None = None
    partial_asked_at: int = 0  # windows in the segment when a partial was last asked for
    prev_hyp: list[str] = field(default_factory=list)
    stable: list[str] = field(default_factory=list)  # LocalAgreement-2 prefix: agreed by two passes, never retracted
    last_partial: str = ""
    text: str | None = None  # the final text, once known
    emitted: bool = False

    def audio(self, upto: int | None = None) -> np.ndarray:
        wins = self.windows if upto is None else self.windows[:upto]
        return np.concatenate(wins) if wins else np.zeros(0, np.float32)

    def agree(self, text: str, language: str) -> str | None:
        """A partial pass's text → the caption to show now, or None when it adds nothing new.

        Words two passes in a row agree on join the stable prefix, which is never taken back; the rest is this
        pass's guess.
        """
        hyp = words(text, language)
        agreed = 0
        for a, b in zip(self.prev_hyp, hyp, strict=False):
            if a != b:
                break
            agreed += 1
        if agreed > len(self.stable):
            self.stable = hyp[:agreed]
        self.prev_hyp = hyp
        caption = join_words(self.stable + hyp[len(self.stable) :], language)
        if not caption or caption == self.last_partial:
            return None
        self.last_partial = caption
        return caption
