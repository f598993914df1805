"""The wire's rule for binary audio frames (PROTOCOL.md §2): whole 16-bit samples, 10 ms to 500 ms each.

The limits are the protocol's, so they live with the transport that speaks it; `media` takes PCM of any length.
"""

from __future__ import annotations

from typing import Literal

from media import AudioFormat

MIN_FRAME_S, MAX_FRAME_S = 0.010, 0.500
_LIMITS = "send 10–500 ms of PCM per binary frame"


class BadFrame(ValueError):
    """A binary frame the protocol does not allow; `code` is the `error` message's code. The stream goes on."""

    def __init__(self, code: Literal["bad_message", "too_large"], message: str) -> None:
        super().__init__(message)
        self.code = code


def accept_frame(fmt: AudioFormat, frame: bytes) -> bool:
    """True for a frame to take, False for one to drop quietly, BadFrame for one the client must hear about.

    A whole-sample frame under 10 ms is dropped without an error: it is what a client sends when its recording
    ends mid-frame. A small tolerance keeps e.g. 441 samples at 44.1 kHz (exactly 10 ms) from being rounded out.
    """
    n = len(frame)
    if n == 0:
        raise BadFrame("bad_message", f"empty audio frame; {_LIMITS}")
    if n % fmt.bytes_per_frame:
        raise BadFrame(
            "bad_message",
            f"audio frame of {n} bytes is not a whole number of {fmt.channels}-channel 16-bit samples "
            f"({fmt.bytes_per_frame} bytes each)",
        )
    seconds = n // fmt.bytes_per_frame / fmt.sample_rate
    if seconds > MAX_FRAME_S + 1e-9:
        raise BadFrame("too_large", f"audio frame of {seconds * 1000:.0f} ms is too long; {_LIMITS}")
    return seconds >= MIN_FRAME_S - 1e-9
