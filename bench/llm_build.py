"""Prompt and generation tokens/s of llama.cpp builds, side by side in one run, each in its own child process.

    python bench/llm_build.py --build avx512=/tmp/wheels/avx512/llama_cpp_python-*.whl \
        --build native=/tmp/wheels/native/llama_cpp_python-*.whl [--model qwen2.5-coder-1.5b-instruct] [--rounds 3]

The installed build (the lock's x86-64-v3 one) is always measured as `installed`; every other build is a wheel or
an unpacked folder holding `llama_cpp/`, put first on the child's path. Builds are measured in turns (round robin)
so that a noisy neighbour on a shared machine hits all of them alike; a build whose child dies prints how it died
(e.g. SIGSEGV for AMX kernels on a VM that advertises AMX). Ratios are against `installed` in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import models
from bench.harness import machine

_CHILD = r"""
import json, sys, time
import llama_cpp
path, n_prompt, n_gen, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
info = llama_cpp.llama_print_system_info().decode()
llm = llama_cpp.Llama(model_path=path, n_ctx=n_prompt + n_gen + 16, n_threads=threads, n_threads_batch=threads,
                      n_batch=n_prompt, seed=1, verbose=False)
text = ("The interviewer asked the candidate to describe a project where they improved a system under load. " * 40)
tokens = llm.tokenize(text.encode())[:n_prompt]
started = time.perf_counter()
llm.eval(tokens)
prompt_s = time.perf_counter() - started
started = time.perf_counter()
for _ in range(n_gen):
    token = llm.sample(temp=0.0)
    llm.eval([token])
gen_s = time.perf_counter() - started
print(json.dumps({"prompt_tps": n_prompt / prompt_s, "gen_tps": n_gen / gen_s, "info": info}))
"""


def unpack(name: str, build: str, into: Path) -> Path | None:
    """A folder to put first on the child's path, or None for the installed build."""
    if build == "installed":
        return None
    path = Path(build)
    if path.is_dir():
        return path
    # Keyed by the build's name: wheels of the same version share one file name.
    target = into / name
    with zipfile.ZipFile(path) as wheel:
        wheel.extractall(target)
    return target


def measure(folder: Path | None, model: Path, n_prompt: int, n_gen: int, threads: int) -> dict[str, object]:
    env = dict(os.environ)
    if folder is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(folder), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(model), str(n_prompt), str(n_gen), str(threads)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    if done.returncode < 0:
        return {"error": f"crashed ({signal.Signals(-done.returncode).name})"}
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {(done.stderr.strip().splitlines() or [''])[-1]}"}
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", action="append", default=[], help="NAME=wheel-or-folder (repeatable)")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct", help="manifest name or GGUF path")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--gen-tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()

    model = models.resolve(args.model)
    builds = {"installed": "installed"} | dict(b.split("=", 1) for b in args.build)
    print(machine())
    print(
        f"model {model.name}, {args.prompt_tokens} prompt tokens, {args.gen_tokens} generated, "
        f"{args.threads} threads, {args.rounds} rounds (builds in turn)"
    )
    results: dict[str, list[dict[str, object]]] = {name: [] for name in builds}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {name: unpack(name, b, Path(tmp)) for name, b in builds.items()}
        for _ in range(args.rounds):
            for name, folder in folders.items():
                results[name].append(measure(folder, model, args.prompt_tokens, args.gen_tokens, args.threads))

    def median(name: str, key: str) -> float | None:
        values = [float(r[key]) for r in results[name] if key in r]  # type: ignore[arg-type]
        return statistics.median(values) if values else None

    base_prompt, base_gen = median("installed", "prompt_tps"), median("installed", "gen_tps")
    print(f"{'build':<12} {'prompt tok/s':>13} {'gen tok/s':>10} {'prompt ratio':>13} {'gen ratio':>10}  features")
    for name in builds:
        errors = {str(r["error"]) for r in results[name] if "error" in r}
        prompt, gen = median(name, "prompt_tps"), median(name, "gen_tps")
        if prompt is None or gen is None:
            print(f"{name:<12} {', '.join(sorted(errors))}")
            continue
        info = next(str(r["info"]) for r in results[name] if "info" in r)
        features = " ".join(f.split(" = ")[0] for f in info.replace("CPU : ", "").split(" | ") if f.endswith("= 1"))
        ratio_p = f"{prompt / base_prompt:.2f}" if base_prompt else "-"
        ratio_g = f"{gen / base_gen:.2f}" if base_gen else "-"
        note = f"  ({len(errors)} failed runs: {', '.join(sorted(errors))})" if errors else ""
        print(f"{name:<12} {prompt:>13.1f} {gen:>10.1f} {ratio_p:>13} {ratio_g:>10}  {features}{note}")


if __name__ == "__main__":
    main()
