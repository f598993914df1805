"""The audio of the turn in progress, kept so that the finished turn can be transcribed again as a whole.

Live finals are decoded segment by segment as the candidate pauses, each with only a short text prompt as context,
so a pause in mid-sentence splits what Whisper hears: the stored answer had about twice the offline error rate
(README: WER 0.094 streaming against 0.048 offline on backend_en). Once the turn is over nobody waits on its words
(the next question was decided on the live text), so the pipeline hands the engine the whole turn again, in pieces
cut only where the turn's own segments meet, and the revised words become the answer that is kept and scored.

The audio is kept as 16-bit samples (32 KB per second) and only up to a limit: a turn longer than that keeps its
live transcript.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from media.vad import SAMPLE_RATE

# A piece of a revised turn: Whisper hears 30 s at most and the engine pads each window by 1 s.
PIECE_S = 28.0
# Audio kept after the last word of a piece: the tail of a word the VAD already counted as silence.
TAIL_S = 0.2


@dataclass(frozen=True, slots=True)
class Piece:
    """Samples [begin, end) of the turn's audio, and the indexes of the segments it covers."""

    begin: int
    end: int
    first: int
    last: int


@dataclass(eq=False)
class TurnAudio:
    """The samples since the turn's first segment began (at `start`, audio seconds), up to `max_s` of them."""

    start: float
    max_s: float
    _chunks: list[np.ndarray] = field(default_factory=list)
    _samples: int = 0
    overflowed: bool = False

    def add(self, window: np.ndarray) -> None:
        """One float32 window in [-1, 1] at 16 kHz; past `max_s` the audio is dropped and stays dropped."""
        if self.overflowed:
            return
        if self._samples + len(window) > self.max_s * SAMPLE_RATE:
            self.overflowed = True
            self._chunks.clear()
            return
        self._chunks.append((np.clip(window, -1.0, 1.0) * 32767).astype(np.int16))
        self._samples += len(window)

    @property
    def seconds(self) -> float:
        return self._samples / SAMPLE_RATE

    def samples(self, begin: int, end: int) -> np.ndarray:
        """float32 samples [begin, end) of what was kept."""
        if not self._chunks:
            return np.zeros(0, np.float32)
        audio = np.concatenate(self._chunks)[begin:end]
        return audio.astype(np.float32) / 32767


def pieces(spans: list[tuple[float, float]], start: float, limit_s: float = PIECE_S) -> list[Piece]:
    """The turn's segments (`spans`: start and end of speech, audio seconds, in order) grouped into consecutive
    pieces of at most `limit_s`, each from its first segment's start to its last segment's end plus TAIL_S, in
    samples from `start`. A segment never exceeds the limit: the pipeline cuts them at `max_segment_s` (14 s)."""
    out: list[Piece] = []
    first = 0
    for i in range(1, len(spans) + 1):
        if i < len(spans) and spans[i][1] + TAIL_S - spans[first][0] <= limit_s:
            continue
        begin = max(0, round((spans[first][0] - start) * SAMPLE_RATE))
        end = round((spans[i - 1][1] + TAIL_S - start) * SAMPLE_RATE)
        out.append(Piece(begin, max(begin, end), first, i - 1))
        first = i
    return out
