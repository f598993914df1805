"""Prints prompt and generation throughput and the wall time of a follow-up wording call for each LLM backend.

In process (llama-cpp-python) and over HTTP (llama_cpp.server on loopback): same GGUF, same threads.
Run: python bench/llm_backends.py [--model PATH] [--threads N] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import models
from dialogue.llm import ChatMessage, LlamaCppBackend, LLMBackend, OpenAICompatibleBackend

SYSTEM = (
    "You are an experienced technical interviewer for a backend engineering role. The candidate has just "
    "answered one of the main questions. Their answer described what they did but left out the result. "
    "Write exactly one short, polite follow-up question that asks for the measurable outcome of their work. "
    "Do not praise, do not summarise, do not add anything else. Keep it under twenty-five words."
)
QUESTION = "Tell me about a time you improved the performance of a production service."
ANSWER = (
    "At my last company our order service was getting slow during peak hours, and customers complained "
    "that checkout sometimes took more than five seconds. I profiled the service with py-spy and found "
    "that most of the time went into repeated database queries for the same product data. I added a "
    "Redis cache in front of those queries with a short expiry, rewrote two of the heaviest SQL queries "
    "to use proper indexes, and set up a Grafana dashboard so the team could watch latency per endpoint."
)


def follow_up_messages(nonce: int) -> list[ChatMessage]:
    # The nonce leads the prompt so llama.cpp cannot reuse the previous call's KV cache: every call pays
    # for its whole prompt, as a new session's first call would.
    return [
        ChatMessage("system", f"Interview {nonce}. {SYSTEM}"),
        ChatMessage("user", f"Question: {QUESTION}\nCandidate's answer: {ANSWER}\nYour follow-up question:"),
    ]


async def measure(backend: LLMBackend, runs: int, first_nonce: int) -> dict[str, float]:
    # Warm-up: pages the model in and builds the compute graphs.
    await backend.complete(follow_up_messages(first_nonce - 1), max_tokens=8)
    prompt_rates, gen_rates, walls, prompt_tokens, gen_tokens = [], [], [], [], []
    for i in range(runs):
        prefill = await backend.complete(follow_up_messages(first_nonce + 2 * i), max_tokens=1)
        full = await backend.complete(follow_up_messages(first_nonce + 2 * i + 1), max_tokens=40)
        prompt_rates.append(prefill.prompt_tokens / prefill.seconds)
        # Generation time: the full call less a prompt-only call of the same length.
        gen_seconds = max(full.seconds - prefill.seconds, 1e-6)
        gen_rates.append(max(full.completion_tokens - 1, 0) / gen_seconds)
        walls.append(full.seconds)
        prompt_tokens.append(full.prompt_tokens)
        gen_tokens.append(full.completion_tokens)
    return {
        "prompt_tokens": statistics.median(prompt_tokens),
        "generated_tokens": statistics.median(gen_tokens),
        "prompt_tok_s": statistics.median(prompt_rates),
        "gen_tok_s": statistics.median(gen_rates),
        "wall_p50_s": statistics.median(walls),
        "wall_max_s": max(walls),
    }


def start_server(model: Path, threads: int) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "bench",
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", str(threads),
        "--n_threads_batch", str(threads), "--verbose", "False",
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/v1/models", timeout=1).is_success:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("llama_cpp.server did not start")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None, help="GGUF path (default: the embedded SmolLM2)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    model = args.model or models.resolve("smollm2-135m-instruct")
    print(f"model {model.name}, {args.threads} threads, {args.runs} runs, median figures")
    print(f"{'backend':<10} {'prompt tok':>10} {'gen tok':>8} {'prompt tok/s':>13} {'gen tok/s':>10} "
          f"{'wall p50':>9} {'wall max':>9}")  # fmt: skip
    results = {}
    local = LlamaCppBackend(model, n_threads=args.threads)
    results["llama_cpp"] = await measure(local, args.runs, 1000)
    await local.aclose()
    proc, url = start_server(model, args.threads)
    try:
        remote = OpenAICompatibleBackend(url, "bench", timeout=120)
        results["openai"] = await measure(remote, args.runs, 2000)
        await remote.aclose()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    for name, r in results.items():
        print(
            f"{name:<10} {r['prompt_tokens']:>10.0f} {r['generated_tokens']:>8.0f} "
            f"{r['prompt_tok_s']:>13.0f} {r['gen_tok_s']:>10.0f} "
            f"{r['wall_p50_s']:>8.2f}s {r['wall_max_s']:>8.2f}s"
        )


if __name__ == "__main__":
    asyncio.run(main())
