"""`shanmian doctor`, the engine probes in child processes, and `shanmian serve`'s LLM probe before loading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import models
from server import doctor
from server.probes import probe

AMX_BUILD = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | AVX512 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 |"
PORTABLE_BUILD = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | OPENMP = 1 |"
SAPPHIRE_RAPIDS = {"pni", "ssse3", "avx", "avx2", "f16c", "fma", "bmi2", "avx512f", "amx_tile", "amx_int8"}
HASWELL = {"pni", "ssse3", "avx", "avx2", "f16c", "fma", "bmi2"}


def test_a_build_with_amx_kernels_is_refused_even_on_a_cpu_that_advertises_amx() -> None:
    check = doctor.build_fits_cpu(AMX_BUILD, SAPPHIRE_RAPIDS)
    assert not check.ok
    assert "AMX" in check.detail and "requirements.lock" in check.detail


def test_a_build_using_avx512_on_an_avx2_cpu_names_the_missing_instructions() -> None:
    check = doctor.build_fits_cpu(AMX_BUILD, HASWELL)
    assert not check.ok
    assert "AVX512" in check.detail and "AMX_INT8" in check.detail


def test_the_portable_build_fits_both_an_avx2_laptop_and_a_sapphire_rapids_server() -> None:
    assert doctor.build_fits_cpu(PORTABLE_BUILD, HASWELL).ok
    assert doctor.build_fits_cpu(PORTABLE_BUILD, SAPPHIRE_RAPIDS).ok


def test_an_avx512_cpu_running_the_portable_build_is_told_it_could_run_a_faster_one() -> None:
    check = doctor.build_fits_cpu(PORTABLE_BUILD, SAPPHIRE_RAPIDS | {"avx512_vnni"})
    assert check.ok
    assert "AVX-512 build" in check.detail
    assert "AVX-512" not in doctor.build_fits_cpu(PORTABLE_BUILD, HASWELL).detail


def test_the_installed_llama_cpp_build_runs_on_this_cpu_without_amx() -> None:
    # The native build of llama-cpp-python compiled AMX kernels on a Sapphire Rapids VM and crashed at the first
    # decode; the lock's build setting must give a build this CPU runs, whatever CPU it is.
    result = probe("llm", str(models.resolve("smollm2-135m-instruct")), threads=1)
    assert result.ok, result.detail
    assert "AMX" not in doctor.build_features(result.system_info)
    assert doctor.build_fits_cpu(result.system_info, doctor.cpu_flags()).ok


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu avx avx2 amx_int8\n\n", "utf-8")
    assert doctor.cpu_flags(cpuinfo) == {"fpu", "avx", "avx2", "amx_int8"}
    assert doctor.cpu_model(cpuinfo) == "Test CPU"
    assert doctor.cpu_flags(tmp_path / "missing") == set()


def test_an_engine_that_dies_from_a_signal_is_reported_as_a_line_naming_it_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A child interpreter that segfaults the way a mis-built native library does, whatever it is asked to run.
    crasher = tmp_path / "python"
    crasher.write_text(
        f"#!/bin/sh\nexec {sys.executable} -c 'import os, signal; os.kill(os.getpid(), signal.SIGSEGV)'\n"
    )
    crasher.chmod(0o755)
    monkeypatch.setattr("server.probes.sys.executable", str(crasher))
    result = probe("llm", "any.gguf")
    assert not result.ok
    assert result.detail.startswith("crashed with SIGSEGV")
    assert "pip install --require-hashes -r requirements.lock" in result.detail


def test_a_model_file_that_is_not_a_gguf_fails_its_probe_with_the_reason(tmp_path: Path) -> None:
    bogus = tmp_path / "broken.gguf"
    bogus.write_bytes(b"not a gguf at all" * 64)
    result = probe("llm", str(bogus), threads=1)
    assert not result.ok
    assert result.detail.startswith("failed (exit 1)")


def test_doctor_reports_every_model_and_engine_ok_on_this_install() -> None:
    env = {**os.environ, "SHANMIAN_API_KEY": "doctor-test-key"}
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "doctor"], capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for name in models.manifest():
        assert f"ok   {name}: sha256 verified" in done.stdout
    for engine in ("llm", "asr", "vad", "embeddings"):
        assert f"ok   {engine} (" in done.stdout
    assert "ok   llama.cpp build vs CPU" in done.stdout
    assert done.stdout.rstrip().endswith("all ok")


def test_serve_stops_with_the_probe_message_when_the_model_cannot_run(tmp_path: Path) -> None:
    bogus = tmp_path / "broken.gguf"
    bogus.write_bytes(b"\x00" * 4096)
    env = {
        **os.environ,
        "SHANMIAN_API_KEY": "serve-probe-key",
        "SHANMIAN_LLM_MODEL": str(bogus),
        "SHANMIAN_VOICE": "0",
        "SHANMIAN_DATA_DIR": str(tmp_path / "data"),
        "SHANMIAN_PORT": "1",  # never reached: the probe stops start-up first
    }
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve"], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 1
    assert "broken.gguf failed its start-up probe" in done.stderr
