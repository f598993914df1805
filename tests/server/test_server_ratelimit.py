"""The audio token bucket: a burst at once, then twice real time; a frame is taken whole or refused whole."""

from __future__ import annotations

import pytest

from server.ratelimit import AUDIO_BURST_S, AUDIO_REAL_TIME_FACTOR, AudioBucket


def test_a_burst_is_taken_at_once_then_frames_beyond_it_are_refused() -> None:
    bucket = AudioBucket(now=0.0)
    taken = sum(bucket.take(0.5, now=0.0) for _ in range(20))
    assert taken * 0.5 == AUDIO_BURST_S
    assert not bucket.take(0.02, now=0.0)


def test_audio_at_twice_real_time_is_always_taken() -> None:
    bucket = AudioBucket(now=0.0)
    frame_s = 0.02
    now = 0.0
    for _ in range(30_000):  # ten minutes of audio sent in five
        now += frame_s / AUDIO_REAL_TIME_FACTOR
        assert bucket.take(frame_s, now=now)


def test_faster_audio_is_held_to_twice_real_time_after_the_burst() -> None:
    bucket = AudioBucket(now=0.0)
    frame_s, now, accepted = 0.02, 0.0, 0.0
    for _ in range(10_000):  # 200 s of audio sent at 10x real time, over 20 s
        now += frame_s / 10
        accepted += frame_s if bucket.take(frame_s, now=now) else 0.0
    assert accepted == pytest.approx(AUDIO_BURST_S + AUDIO_REAL_TIME_FACTOR * now, abs=0.05)


def test_a_frame_larger_than_what_is_left_is_refused_whole_and_costs_nothing() -> None:
    bucket = AudioBucket(rate=2.0, burst_s=1.0, now=0.0)
    assert bucket.take(0.7, now=0.0)
    assert not bucket.take(0.5, now=0.0)
    assert bucket.take(0.3, now=0.0)  # the refused frame took nothing
    assert not bucket.take(0.1, now=0.0)
    assert bucket.take(0.1, now=0.05)  # refilled at 2 s of audio a second


def test_the_refill_never_exceeds_the_burst() -> None:
    bucket = AudioBucket(rate=2.0, burst_s=1.0, now=0.0)
    assert bucket.take(1.0, now=3600.0)
    assert not bucket.take(0.02, now=3600.0)
