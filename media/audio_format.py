"""What audio a client may send (PROTOCOL.md §2: pcm_s16le, 8–48 kHz, mono/stereo) and checks of each frame.

Both errors are ValueErrors with a message a person can act on; the transport maps them to `unsupported_audio`
and `bad_message` / `too_large` errors without ending the session.
"""

from __future__ import annotations

from dataclasses import dataclass

SUPPORTED_ENCODINGS = ("pcm_s16le",)
MIN_RATE, MAX_RATE = 8000, 48000
MIN_FRAME_S, MAX_FRAME_S = 0.010, 0.500
_SAMPLE_BYTES = 2


class UnsupportedAudio(ValueError):
    """The declared audio format is one the server cannot take."""


class FrameError(ValueError):
    """One binary frame is malformed (not whole samples, empty, or outside 10–500 ms); the stream goes on."""


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
        """Returns the number of sample instants in `pcm`, or raises FrameError saying what is wrong with
        it.
        """
        n = len(pcm)
        if n == 0:
            raise FrameError("empty audio frame; send 10–500 ms of PCM per binary frame")
        if n % self.bytes_per_frame:
            raise FrameError(
                f"audio frame of {n} bytes is not a whole number of {self.channels}-channel 16-bit samples "
                f"({self.bytes_per_frame} bytes each)"
            )
        samples = n // self.bytes_per_frame
        seconds = samples / self.sample_rate
        # A small tolerance so that e.g. 441 samples at 44.1 kHz (exactly 10 ms) is never rejected by
        # rounding.
        if seconds < MIN_FRAME_S - 1e-9:
            raise FrameError(f"audio frame of {seconds * 1000:.1f} ms is too short; send 10–500 ms per frame")
        if seconds > MAX_FRAME_S + 1e-9:
            raise FrameError(f"audio frame of {seconds * 1000:.0f} ms is too long; send 10–500 ms per frame")
        return samples
