"""The PCM audio media decodes (pcm_s16le, 8–48 kHz, mono/stereo) and the check that a chunk is whole samples.

Chunks may be of any length: how long a client's frames must be is the transport's rule, not media's. Both
errors are ValueErrors with a message a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass

SUPPORTED_ENCODINGS = ("pcm_s16le",)
MIN_RATE, MAX_RATE = 8000, 48000
_SAMPLE_BYTES = 2


class UnsupportedAudio(ValueError):
    """The declared audio format is one the server cannot take."""


class FrameError(ValueError):
    """A chunk of PCM is not a whole number of samples; the stream goes on."""


@dataclass(frozen=True, slots=True)
class AudioFormat:
    encoding: str = "pcm_s16le"
    sample_rate: int = 16000
    channels: int = 1

    def validate(self) -> AudioFormat:
        """Returns self when supported, so `AudioFormat(**hello["audio"]).validate()` reads well."""
        if self.encoding not in SUPPORTED_ENCODINGS:
            raise UnsupportedAudio(
                f"audio encoding {self.encoding!r} is not supported; send {' or '.join(SUPPORTED_ENCODINGS)}"
            )
        # bool is an int subclass; `True` Hz is a client bug, not a rate.
        if (
            not isinstance(self.sample_rate, int)
            or isinstance(self.sample_rate, bool)
            or not (MIN_RATE <= self.sample_rate <= MAX_RATE)
        ):
            raise UnsupportedAudio(
                f"sample_rate {self.sample_rate!r} is not supported; use an integer from {MIN_RATE} to {MAX_RATE} Hz"
            )
        if self.channels not in (1, 2) or isinstance(self.channels, bool):
            raise UnsupportedAudio(f"channels {self.channels!r} is not supported; send 1 (mono) or 2 (stereo)")
        return self

    @property
    def bytes_per_frame(self) -> int:
        """Bytes of one sample instant across all channels."""
        return _SAMPLE_BYTES * self.channels

    def check_frame(self, pcm: bytes) -> int:
        """Returns the number of sample instants in `pcm` (any number, 0 included), or raises FrameError."""
        n = len(pcm)
        if n % self.bytes_per_frame:
            raise FrameError(
                f"audio frame of {n} bytes is not a whole number of {self.channels}-channel 16-bit samples "
                f"({self.bytes_per_frame} bytes each)"
            )
        return n // self.bytes_per_frame
