"""What of a WebRTC candidate's decoded video reaches the recording, and at what cost to the server.

A camera is the candidate's to choose, so its frames are capped before they cost more than a recording needs: frames
larger than `MAX_VIDEO_PIXELS` are dropped, at most `MAX_VIDEO_FPS` frames a second are kept (a credit that refills
at that rate, so jitter costs no frames), and those wait for
scaling in a queue bounded in bytes (`MAX_QUEUED_BYTES`), not in frames, so a flood of large frames is dropped
rather than held. Each kept frame is scaled to the recording's size off the event loop, then handed to it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable
from typing import Any

MAX_VIDEO_PIXELS = 1920 * 1080  # a full-HD camera is the most a candidate's page asks for; more is not a camera
MAX_VIDEO_FPS = 15.0  # what the recording keeps: an interview is faces, not motion
FPS_BURST = 3.0  # frames kept back to back: network jitter bunches a 15 fps camera's frames without it sending more
MAX_QUEUED_BYTES = 16 * 1024 * 1024  # decoded frames waiting to be scaled: about five full-HD frames, 35 VGA ones


def frame_bytes(frame: Any) -> int:
    """The memory a decoded av.VideoFrame holds: its planes."""
    return sum(int(plane.buffer_size) for plane in frame.planes)


class VideoIntake:
    """Takes decoded frames (`offer`, on the event loop, never blocking) and feeds the capped, scaled ones to `sink`
    with their session time, in order."""

    def __init__(self, sink: Callable[[Any, float], None], width: int, height: int) -> None:
        self.sink = sink
        self.width, self.height = width, height
        self.queued_bytes = 0
        self.kept = 0
        self.dropped = collections.Counter[str]()  # why frames were not kept: too_large, too_fast, queue_full
        self._queue: collections.deque[tuple[Any, float, int]] = collections.deque()
        self._credit, self._credit_at = FPS_BURST, 0.0
        self._ready = asyncio.Event()
        self._task = asyncio.create_task(self._scale())

    def offer(self, frame: Any, at: float) -> bool:
        """Queue a frame shown at session second `at`; False when a cap drops it."""
        if frame.width * frame.height > MAX_VIDEO_PIXELS:
            self.dropped["too_large"] += 1
            return False
        self._credit = min(FPS_BURST, self._credit + max(0.0, at - self._credit_at) * MAX_VIDEO_FPS)
        self._credit_at = at
        if self._credit < 1.0:
            self.dropped["too_fast"] += 1
            return False
        size = frame_bytes(frame)
        if self.queued_bytes + size > MAX_QUEUED_BYTES:
            self.dropped["queue_full"] += 1
            return False
        self._credit -= 1.0
        self._queue.append((frame, at, size))
        self.queued_bytes += size
        self._ready.set()
        return True

    async def _scale(self) -> None:
        while True:
            await self._ready.wait()
            while self._queue:
                frame, at, size = self._queue.popleft()
                try:
                    small = await asyncio.to_thread(
                        frame.reformat, width=self.width, height=self.height, format="yuv420p"
                    )
                finally:
                    self.queued_bytes -= size
                self.kept += 1
                self.sink(small, at)
            # No await between the empty check and this clear, so no frame offered in between is missed.
            self._ready.clear()

    async def close(self) -> None:
        """Stop; frames still queued are dropped (the recording is finishing)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._queue.clear()
        self.queued_bytes = 0
