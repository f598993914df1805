"""`shanmian doctor`: what this install runs on and whether each part works, as lines a person can act on.

CPU features, the llama.cpp build's features (and whether this CPU can run them), Python and key package versions,
every embedded model verified by sha256, and each engine run once in a child process (see `server.probes`).
"""

from __future__ import annotations

import platform
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import models
from server.probes import ProbeResult, probe
from server.settings import Settings

PACKAGES = (
    "llama-cpp-python",
    "ctranslate2",
    "faster-whisper",
    "onnxruntime",
    "numpy",
    "litestar",
    "uvicorn",
    "sqlalchemy",
    "aiortc",
)

# The x86 features llama.cpp's system info reports, and the /proc/cpuinfo flag each one needs.
BUILD_FEATURE_FLAGS = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX_VNNI": "avx_vnni",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
}
SHOWN_CPU_FLAGS = (
    "avx",
    "avx2",
    "fma",
    "f16c",
    "bmi2",
    "avx_vnni",
    "avx512f",
    "avx512bw",
    "avx512vbmi",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The running CPU's feature flags (Linux); empty where /proc/cpuinfo is not there."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    match = re.search(r"^flags\s*:\s*(.*)$", text, re.MULTILINE)
    return set(match.group(1).split()) if match else set()


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine()
    match = re.search(r"^model name\s*:\s*(.*)$", text, re.MULTILINE)
    return match.group(1).strip() if match else platform.machine()


def build_features(system_info: str) -> set[str]:
    """The features a llama.cpp build was compiled with, from its system info ("AVX2 = 1 | ...")."""
    return {name for name, value in re.findall(r"([A-Z0-9_]+) = (\d+)", system_info) if value != "0"}


def build_fits_cpu(system_info: str, flags: set[str]) -> Check:
    """Whether this CPU has every instruction set the llama.cpp build uses, and whether the build uses AMX."""
    built = build_features(system_info)
    if not flags:
        return Check("llama.cpp build", True, "CPU flags unknown on this system; not compared")
    missing = sorted(f for f, flag in BUILD_FEATURE_FLAGS.items() if f in built and flag not in flags)
    if missing:
        return Check(
            "llama.cpp build",
            False,
            f"built with {', '.join(missing)}, which this CPU lacks: reinstall from requirements.lock",
        )
    if "AMX_INT8" in built:
        return Check(
            "llama.cpp build",
            False,
            "built with AMX kernels, which crash on virtual machines that advertise AMX: reinstall from "
            "requirements.lock (x86-64-v3, no AMX)",
        )
    if "AVX512" not in built and {"avx512f", "avx512_vnni"} <= flags:
        return Check(
            "llama.cpp build",
            True,
            "every instruction set it uses is on this CPU; this CPU could also run an AVX-512 build "
            "(about 1.5x faster prompt evaluation: see the README's 'Supported CPUs')",
        )
    return Check("llama.cpp build", True, "every instruction set it uses is on this CPU")


def package_versions(names: Iterable[str] = PACKAGES) -> list[str]:
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return found


def verify_models(names: Iterable[str] | None = None) -> list[Check]:
    """Resolves every embedded model (joining parts into the cache the first time) and checks its sha256."""
    checks = []
    for name in names if names is not None else models.manifest():
        started = time.perf_counter()
        try:
            path = models.resolve(name)
        except models.ModelError as exc:
            checks.append(Check(name, False, str(exc)))
            continue
        checks.append(Check(name, True, f"sha256 verified, {time.perf_counter() - started:.1f} s ({path})"))
    return checks


def engine_targets(settings: Settings) -> dict[str, str]:
    """What each engine probe runs: the configured models, resolved to local paths where the engine needs one."""
    targets = {
        "vad": str(models.resolve("silero-vad")),
        "asr": settings.asr_model_en,
        "embeddings": str(models.resolve(settings.embedding_model)),
    }
    if settings.llm_backend == "llama_cpp":
        targets["llm"] = str(models.resolve(settings.llm_model))
    return targets


def run(settings: Settings, out: Callable[[str], None] = print) -> int:
    """Prints the report; 0 when every check passed, 1 otherwise."""
    flags = cpu_flags()
    failures = 0

    def line(check: Check | ProbeResult, label: str) -> None:
        nonlocal failures
        failures += not check.ok
        out(f"  {'ok  ' if check.ok else 'FAIL'} {label}: {check.detail}")

    out(f"CPU: {cpu_model()} ({platform.machine()})")
    out(f"  features: {' '.join(f for f in SHOWN_CPU_FLAGS if f in flags) or 'unknown'}")
    out(f"Python {sys.version.split()[0]}; " + ", ".join(package_versions()))
    out("models:")
    for check in verify_models():
        line(check, check.name)
    out("engines (each in a child process):")
    try:
        targets = engine_targets(settings)
    except models.ModelError as exc:
        out(f"  FAIL models: {exc}")
        return 1
    system_info = ""
    for engine, target in targets.items():
        result = probe(engine, target, threads=settings.llm_threads)
        line(result, f"{engine} ({result.seconds:.1f} s)")
        system_info = system_info or result.system_info
    if settings.llm_backend != "llama_cpp":
        out(f"  skip llm: SHANMIAN_LLM_BACKEND={settings.llm_backend}")
    if system_info:
        out(f"llama.cpp build: {system_info}")
        line(build_fits_cpu(system_info, flags), "llama.cpp build vs CPU")
    out("all ok" if not failures else f"{failures} problem(s) above")
    return 0 if not failures else 1
