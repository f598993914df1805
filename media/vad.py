"""Silero VAD v6 on onnxruntime directly: one model shared per process, a `VadStream` (LSTM state) per stream.

The v6 ONNX (faster-whisper's assets/silero_vad_v6.onnx) takes `input` [seq, 576] = 64 samples of context + a
512-sample window per row, and `h`/`c` [1, 1, 128]; it runs its LSTM along `seq`, so several consecutive
windows of
one stream go through in a single call with the state carried across them (as faster-whisper's own wrapper
does).
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort

WINDOW = 512  # samples at 16 kHz = 32 ms; the only window size the 16 kHz model was trained on
CONTEXT = 64  # samples of the previous window the model expects in front of each window
SAMPLE_RATE = 16000
WINDOW_S = WINDOW / SAMPLE_RATE


class SileroVad:
    """The shared model. `InferenceSession.run` is thread-safe, so every stream (and thread) uses this one.

    It also holds `executor`, the few threads every stream's per-frame work (resampling, then this model) runs on,
    so that the event loop serving the sessions only routes their events: 0.1-0.3 ms a frame is nothing once, but
    eight sessions of 20 ms frames, or one client sending faster than real time, add up to stalls.
    """

    def __init__(self, path: str | Path | None = None, threads: int = 1, dsp_workers: int = 2) -> None:
        if path is None:
            import models

            path = models.resolve("silero-vad")
        opts = ort.SessionOptions()
        # Each call is ~0.1 ms of work: extra threads cost more in wake-ups than they save, and ASR needs the
        # cores.
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        names = [i.name for i in self.session.get_inputs()]
        if names != ["input", "h", "c"]:
            raise ValueError(f"{path} is not a Silero VAD v6 ONNX model (inputs {names}, expected input, h, c)")
        self._lock = threading.Lock()  # only guards `calls`, a counter the bench reads
        self.calls = 0
        # Threads start on first use. Each stream has at most one frame in here at a time (AudioPipeline's lock),
        # so two workers keep up with many streams while leaving the other cores to ASR.
        self.executor = cf.ThreadPoolExecutor(max_workers=dsp_workers, thread_name_prefix="dsp")

    def stream(self) -> VadStream:
        return VadStream(self)

    def run(self, rows: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        probs, hn, cn = self.session.run(None, {"input": rows, "h": h, "c": c})
        with self._lock:
            self.calls += 1
        return np.asarray(probs, np.float32).reshape(-1), hn, cn


class VadStream:
    """Per-stream state: the LSTM state, the last 64 samples and the samples not yet filling a window."""

    def __init__(self, model: SileroVad) -> None:
        self.model = model
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)
        self._pending = np.zeros(0, np.float32)

    def process(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feeds 16 kHz float32 samples; returns (windows [n, 512], speech probability [n]) for each
        completed window.
        """
        buf = np.concatenate([self._pending, audio.astype(np.float32, copy=False)]) if len(self._pending) else audio
        n = len(buf) // WINDOW
        windows = np.ascontiguousarray(buf[: n * WINDOW], dtype=np.float32).reshape(n, WINDOW)
        self._pending = np.array(buf[n * WINDOW :], dtype=np.float32)
        if n == 0:
            return windows, np.zeros(0, np.float32)
        contexts = np.empty((n, CONTEXT), np.float32)
        contexts[0] = self._context
        if n > 1:
            contexts[1:] = windows[:-1, -CONTEXT:]
        self._context = windows[-1, -CONTEXT:].copy()
        # Clipped or out-of-range input must not feed NaN/inf into the recurrent state for the rest of the
        # stream.
        rows = np.clip(np.nan_to_num(np.concatenate([contexts, windows], axis=1)), -1.0, 1.0)
        probs, self._h, self._c = self.model.run(rows, self._h, self._c)
        return windows, probs
