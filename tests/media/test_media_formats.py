"""Audio format checks and resampling: what the hello may declare, whole-sample checks, soxr to 16 kHz mono."""

from __future__ import annotations

import numpy as np
import pytest

from media import AudioFormat, FrameError, UnsupportedAudio
from media.resample import StreamResampler


@pytest.mark.parametrize(
    "fmt",
    [
        AudioFormat("opus", 16000, 1),
        AudioFormat("pcm_f32le", 16000, 1),
        AudioFormat("pcm_s16le", 7999, 1),
        AudioFormat("pcm_s16le", 96000, 1),
        AudioFormat("pcm_s16le", 16000, 0),
        AudioFormat("pcm_s16le", 16000, 6),
    ],
)
def test_unsupported_formats_are_refused_with_a_clear_message(fmt: AudioFormat) -> None:
    with pytest.raises(UnsupportedAudio) as e:
        fmt.validate()
    assert any(word in str(e.value) for word in ("encoding", "sample_rate", "channels"))
    assert isinstance(e.value, ValueError)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_supported_rates(rate: int) -> None:
    assert AudioFormat("pcm_s16le", rate, 2).validate().sample_rate == rate


@pytest.mark.parametrize(("fmt", "nbytes"), [(AudioFormat(), 641), (AudioFormat(channels=2), 642)])
def test_a_chunk_of_part_samples_is_refused(fmt: AudioFormat, nbytes: int) -> None:
    with pytest.raises(FrameError, match="whole number"):
        fmt.check_frame(b"\0" * nbytes)


@pytest.mark.parametrize("samples", [0, 1, 100, 8001, 48000 * 60])
def test_whole_samples_of_any_length_are_taken(samples: int) -> None:
    # How long a frame may be is the transport's rule (server/stream/frames.py), not media's.
    assert AudioFormat(sample_rate=48000, channels=2).check_frame(b"\0" * 4 * samples) == samples


def _tone(rate: int, seconds: float, freq: float, channels: int) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    x = (0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    if channels == 2:
        x = np.stack([x, x], axis=1).reshape(-1)
    return x.tobytes()


@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (44100, 2), (48000, 2), (16000, 2)])
def test_resampling_keeps_length_pitch_and_level(rate: int, channels: int) -> None:
    r = StreamResampler(AudioFormat("pcm_s16le", rate, channels))
    pcm = _tone(rate, 2.0, 440.0, channels)
    step = 2 * channels * (rate // 50)  # 20 ms frames
    out = np.concatenate([r.process(pcm[i : i + step]) for i in range(0, len(pcm), step)] + [r.drain()])
    assert out.dtype == np.float32
    assert abs(len(out) - 32000) <= 32  # 2 s at 16 kHz, give or take the filter's edges
    spectrum = np.abs(np.fft.rfft(out[4000:28000]))
    peak_hz = np.argmax(spectrum) * 16000 / 24000
    assert abs(peak_hz - 440) < 2
    assert 0.45 < np.max(np.abs(out[4000:28000])) < 0.55  # stereo averaged, not summed
