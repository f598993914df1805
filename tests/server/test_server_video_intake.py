"""The caps between a WebRTC camera and the recording (server/stream/video_intake.py), with real decoded-size PyAV
frames: oversized frames dropped, the frame rate held to 15 a second without losing a jittery 15 fps camera's
frames, the waiting frames bounded in bytes, and what is kept scaled to the recording's size, in order."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import av

from server.stream.video_intake import MAX_QUEUED_BYTES, MAX_VIDEO_FPS, VideoIntake, frame_bytes


def frame(width: int, height: int) -> av.VideoFrame:
    return av.VideoFrame(width, height, "yuv420p")


class Sink:
    def __init__(self) -> None:
        self.got: list[tuple[Any, float]] = []

    def __call__(self, image: Any, at: float) -> None:
        self.got.append((image, at))


async def settle(intake: VideoIntake) -> None:
    """Until every queued frame has been scaled and handed over (at most 10 s)."""
    for _ in range(1000):
        if not intake.queued_bytes:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("queued frames were not handed over")


async def test_frames_larger_than_full_hd_are_dropped_and_the_rest_scaled_to_the_recording() -> None:
    sink = Sink()
    intake = VideoIntake(sink, 640, 480)
    try:
        assert not intake.offer(frame(3840, 2160), 0.0)
        assert intake.offer(frame(1280, 720), 0.5)
        assert intake.offer(frame(320, 240), 1.0)
        await settle(intake)
    finally:
        await intake.close()
    assert intake.dropped["too_large"] == 1
    assert [(img.width, img.height, at) for img, at in sink.got] == [(640, 480, 0.5), (640, 480, 1.0)]


async def test_a_30_fps_camera_is_held_to_15_frames_a_second() -> None:
    sink = Sink()
    intake = VideoIntake(sink, 160, 120)
    try:
        kept = sum(intake.offer(frame(160, 120), i / 30) for i in range(120))  # 4 s at 30 fps
        await settle(intake)
    finally:
        await intake.close()
    assert MAX_VIDEO_FPS * 4 - 1 <= kept <= MAX_VIDEO_FPS * 4 + 4, kept
    assert intake.dropped["too_fast"] == 120 - kept and len(sink.got) == kept


async def test_a_jittery_15_fps_camera_loses_no_frame() -> None:
    rng = random.Random(7)
    intake = VideoIntake(Sink(), 160, 120)
    try:
        times = [i / 15 + rng.uniform(-0.025, 0.025) for i in range(150)]
        assert all(intake.offer(frame(160, 120), at) for at in sorted(times))
    finally:
        await intake.close()


async def test_frames_waiting_to_be_scaled_are_bounded_in_bytes() -> None:
    sink = Sink()
    intake = VideoIntake(sink, 160, 120)
    big = frame(1920, 1080)
    try:
        # Offered faster than anything can be scaled (no await between them), one a second so none is too fast.
        kept = sum(intake.offer(frame(1920, 1080), float(i)) for i in range(12))
        assert intake.queued_bytes <= MAX_QUEUED_BYTES
        await settle(intake)
    finally:
        await intake.close()
    assert kept == MAX_QUEUED_BYTES // frame_bytes(big) and intake.dropped["queue_full"] == 12 - kept
    assert len(sink.got) == kept and intake.queued_bytes == 0
