"""The wire's binary frame rule (PROTOCOL.md §2): whole samples, 10–500 ms, a short last frame dropped quietly."""

from __future__ import annotations

import pytest

from media import AudioFormat
from server.stream.frames import BadFrame, accept_frame


@pytest.mark.parametrize(
    ("fmt", "nbytes", "code", "why"),
    [
        (AudioFormat(), 0, "bad_message", "empty"),
        (AudioFormat(), 641, "bad_message", "whole number"),
        (AudioFormat(channels=2), 642, "bad_message", "whole number"),
        (AudioFormat(), 2 * 8001, "too_large", "too long"),  # 500.06 ms
        (AudioFormat(sample_rate=48000, channels=2), 4 * 48000, "too_large", "too long"),  # 1 s
    ],
)
def test_frames_the_protocol_forbids_get_an_error_code(fmt: AudioFormat, nbytes: int, code: str, why: str) -> None:
    with pytest.raises(BadFrame, match=why) as e:
        accept_frame(fmt, b"\0" * nbytes)
    assert e.value.code == code


def test_frame_limits_are_inclusive() -> None:
    assert accept_frame(AudioFormat(sample_rate=44100), b"\0" * 2 * 441)  # exactly 10 ms
    assert accept_frame(AudioFormat(), b"\0" * 2 * 8000)  # exactly 500 ms


def test_a_whole_sample_frame_under_10_ms_is_dropped_without_an_error() -> None:
    assert not accept_frame(AudioFormat(), b"\0" * 2 * 100)  # 6.25 ms: a recording's last, cut-off frame
