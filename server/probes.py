"""Runs each native engine once in a child process, so a crash (SIGSEGV, SIGILL) becomes a line, not a dead shell.

`probe(engine, target)` starts `python -m server.probes ENGINE TARGET`; the child does one small piece of real work
with the engine and prints one JSON line. Used by `shanmian doctor` (every engine) and `shanmian serve` (the LLM,
before it is loaded into the server process).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

ENGINES = ("llm", "asr", "vad", "embeddings")

# What to do when an engine's child dies, by engine: the usual cause is a native build that does not fit this CPU.
_FIX = {
    "llm": (
        "llama-cpp-python was built for another CPU (or with AMX/AVX-512 kernels this machine cannot run): "
        "reinstall it from the lock, which builds it for any x86-64-v3 CPU: "
        ".venv/bin/pip uninstall -y llama-cpp-python && .venv/bin/pip cache remove llama_cpp_python && "
        ".venv/bin/pip install --require-hashes -r requirements.lock"
    ),
    "asr": "reinstall ctranslate2 and faster-whisper from the lock (pip install --require-hashes -r requirements.lock)",
    "vad": "reinstall onnxruntime from the lock (pip install --require-hashes -r requirements.lock)",
    "embeddings": "reinstall safetensors and tokenizers from the lock (pip install --require-hashes -r requirements.lock)",
}


@dataclass(frozen=True, slots=True)
class ProbeResult:
    engine: str
    ok: bool
    seconds: float
    detail: str  # what the engine did, or why it failed and how to fix it
    system_info: str = ""  # the llama.cpp build's own feature line (llm only)


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def probe(engine: str, target: str, *, threads: int = 2, timeout_s: float = 180.0) -> ProbeResult:
    """Runs `engine` on `target` (a model path) in a child process and says what happened. Blocking."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "server.probes", engine, target, str(threads)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ProbeResult(engine, False, time.perf_counter() - started, f"no answer within {timeout_s:.0f} s")
    seconds = time.perf_counter() - started
    if done.returncode < 0:
        return ProbeResult(engine, False, seconds, f"crashed with {_signal_name(done.returncode)}; fix: {_FIX[engine]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return ProbeResult(engine, False, seconds, f"failed (exit {done.returncode}): {last}; fix: {_FIX[engine]}")
    report: dict[str, Any] = json.loads(lines[-1])
    return ProbeResult(engine, True, seconds, str(report["detail"]), str(report.get("system_info", "")))


# -- the child's side: one real call per engine --------------------------------------------------------------


def _run_llm(path: str, threads: int) -> dict[str, Any]:
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()
    llm = llama_cpp.Llama(model_path=path, n_ctx=256, n_threads=threads, n_threads_batch=threads, verbose=False)
    started = time.perf_counter()
    out: Any = llm.create_completion("The capital of France is", max_tokens=4, temperature=0.0)
    text = out["choices"][0]["text"].strip()
    return {"detail": f"generated {text!r} in {time.perf_counter() - started:.2f} s", "system_info": info}


def _one_second() -> Any:
    import numpy as np

    # A quiet 220 Hz tone with a little noise: real work for every stage, no fixture needed on a user's machine.
    t = np.arange(16000, dtype=np.float32) / 16000
    rng = np.random.default_rng(0)
    return (0.05 * np.sin(2 * np.pi * 220 * t) + 0.005 * rng.standard_normal(16000)).astype(np.float32)


def _run_asr(model: str, threads: int) -> dict[str, Any]:
    from media import ASRConfig, ASREngine

    engine = ASREngine(ASRConfig(models={"en": model}, workers=1, cpu_threads=threads))
    try:
        started = time.perf_counter()
        result = engine.submit(_one_second(), "en").result(timeout=120)
        return {"detail": f"decoded 1 s of audio in {time.perf_counter() - started:.2f} s ({result.text!r})"}
    finally:
        engine.close()


def _run_vad(path: str, threads: int) -> dict[str, Any]:
    from media import SileroVad, VadStream

    stream = VadStream(SileroVad(path, threads=1))
    _, probs = stream.process(_one_second())
    return {"detail": f"{len(probs)} windows, speech probability max {float(probs.max()):.2f}"}


def _run_embeddings(path: str, threads: int) -> dict[str, Any]:
    from pathlib import Path

    from dialogue.semantic import SentenceEncoder

    encoder = SentenceEncoder.load(Path(path))
    sim = encoder.similarity("I led the migration to Kubernetes.", "We moved our services onto Kubernetes.")
    return {"detail": f"similarity of two paraphrases {sim:.2f}"}


_RUNNERS = {"llm": _run_llm, "asr": _run_asr, "vad": _run_vad, "embeddings": _run_embeddings}


def _child(argv: list[str]) -> int:
    engine, target, threads = argv[0], argv[1], int(argv[2])
    print(json.dumps(_RUNNERS[engine](target, threads)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
