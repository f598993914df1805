"""Streaming conversion of client PCM (s16le, 8–48 kHz, mono/stereo) to the 16 kHz mono float32 VAD/ASR need.

Uses soxr's streaming resampler so that frame boundaries leave no clicks or phase jumps.
"""

from __future__ import annotations

import numpy as np
import soxr

from media.audio_format import AudioFormat

TARGET_RATE = 16000


class StreamResampler:
    """One per stream: keeps the filter state between frames. Not thread-safe (one stream, one caller)."""

    def __init__(self, fmt: AudioFormat) -> None:
        self.fmt = fmt.validate()
        # Same-rate input needs no filter; skipping it also skips soxr's small delay.
        self._stream = (
            None
            if fmt.sample_rate == TARGET_RATE
            else soxr.ResampleStream(fmt.sample_rate, TARGET_RATE, 1, dtype="float32", quality="HQ")
        )

    def process(self, pcm: bytes, last: bool = False) -> np.ndarray:
        """Converts one frame of whole samples; `last=True` drains what the filter still holds."""
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float32) * (1.0 / 32768.0)
        if self.fmt.channels == 2:
            # Averaging keeps the level of a mono source recorded on both channels (summing would clip).
            x = x.reshape(-1, 2).mean(axis=1, dtype=np.float32)
        if self._stream is None:
            return x
        return np.asarray(self._stream.resample_chunk(x, last=last), dtype=np.float32)

    def drain(self) -> np.ndarray:
        if self._stream is None:
            return np.zeros(0, np.float32)
        return np.asarray(self._stream.resample_chunk(np.zeros(0, np.float32), last=True), dtype=np.float32)
