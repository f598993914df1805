"""Text-mode turn latency: the time from an answer arriving to the next question leaving, and the time to score;
and, per packaged model, language and kind, the latency of model-worded follow-ups and rephrasings and the share
that passes validation.

Starts a real server (`shanmian serve`, embedded defaults) on a free port with a throwaway database, plays the
fixture interviews in text mode over the WebSocket, and prints p50/p95 per kind of next question plus scoring time.
With --wording-models it first words the follow-ups and rephrasings of WORDING_CASES with each model directly
(no timeout, so the real latency shows), counting what passes `dialogue.wording`'s validation and what would have
been said within the 2 s budget.

usage: python bench/text_turn.py [--rounds 3] [--fixtures ../shared/fixtures/interviews]
                                 [--wording-models qwen2.5-coder-0.5b,qwen2.5-coder-1.5b-instruct] [--no-server]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
from harness import FIXTURES, KEY, machine, pct, server

import models
from dialogue.language import Language
from dialogue.llm import build_backend
from dialogue.wording import WordingConfig, word_follow_up, word_rephrase

# (question, a thin answer, the gap the rules found, as the interviewer words it): the fixtures' questions and
# some of bench/plan.py's.
WORDING_CASES: dict[Language, list[tuple[str, str, str]]] = {
    "en": [
        (
            "Tell me about a microservices project you worked on and the biggest challenge you faced.",
            "It was a big project and it went fine.",
            "a specific example with details",
        ),
        (
            "Describe a time you had to deliver under heavy pressure.",
            "I worked late for two weeks and we shipped the release on the day it was due.",
            "the result and how it was measured",
        ),
        (
            "Tell me about the largest B2B deal you closed: how did you win it?",
            "We won a bank as a client after a long sales cycle with many meetings.",
            "what the candidate personally did",
        ),
        (
            "How did you turn a contact from your network into a long-term client?",
            "A former colleague introduced me to a logistics company.",
            "a specific example with details",
        ),
        (
            "Describe a time you designed a REST API for a new feature.",
            "I designed the orders API with versioning and pagination for the mobile app team.",
            "the result and how it was measured",
        ),
        (
            "Tell me about a time you led your team to a difficult target.",
            "The team hit the target in the end, everyone was happy.",
            "what the candidate personally did",
        ),
    ],
    "zh": [
        ("你在微服务项目中遇到的最大挑战是什么？如何解决？", "挑战挺多的，后来都解决了。", "一个具体的例子和细节"),
        (
            "请描述一次你在很大压力下按时交付的经历。",
            "压力大的时候我就多加班，最后按时上线了。",
            "最终结果以及如何衡量",
        ),
        (
            "请讲一次你拿下的最大一笔企业订单：你是如何赢得它的？",
            "我们跟一家银行谈了半年，最后签下来了。",
            "候选人本人具体做了什么",
        ),
        (
            "请描述你带领团队完成1000万业绩的过程，遇到的最大挑战是什么？",
            "团队很努力，最后完成了目标。",
            "候选人本人具体做了什么",
        ),
        ("你是如何把一个人脉关系发展成长期客户的？", "以前的同事介绍了一家物流公司。", "一个具体的例子和细节"),
        ("请讲一次你做数据分析帮助业务决策的经历。", "我做过一个销售看板，领导每周都看。", "最终结果以及如何衡量"),
    ],
}


async def one_interview(base: str, manifest: dict[str, Any], quality: str, samples: dict[str, list[float]]) -> None:
    sc = manifest["scenario"]
    clips = manifest["clips"]

    def text(**want: Any) -> str | None:
        return next((c["text"] for c in clips if all(c.get(k) == v for k, v in want.items())), None)

    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        job = (
            await http.post("/v1/jobs", json=dict(sc["job"], questions=[{"text": q} for q in sc["questions"]]))
        ).json()
        cand = (await http.post("/v1/candidates", json={"name": "Bench"})).json()
        iv = (
            await http.post("/v1/interviews", json={"job_id": job["id"], "candidate_id": cand["id"], "mode": "text"})
        ).json()
    url = base.replace("http", "ws", 1) + f"/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "mode": "text"}))
        sent_at, asked_rephrase = 0.0, False
        async for raw in ws:
            m = json.loads(raw)
            now = time.perf_counter()
            if m["type"] == "question":
                if sent_at:
                    samples.setdefault(m["kind"], []).append(now - sent_at)
                if m["kind"] == "closing":
                    answer = text(role="closing_answer")
                elif m["kind"] == "follow_up":
                    answer = text(role="follow_up_answer")
                elif m["kind"] == "main" and m["index"] == 1 and not asked_rephrase:
                    asked_rephrase, answer = True, text(role="rephrase_request")
                else:
                    answer = text(role="answer", question=m["index"], quality=quality) or text(
                        role="answer", question=m["index"]
                    )
                sent_at = time.perf_counter()
                await ws.send(json.dumps({"type": "answer", "text": answer}))
            elif m["type"] == "report":
                samples.setdefault("score (closing answer -> report)", []).append(now - sent_at)
            elif m["type"] == "closed":
                return


async def play_all(base: str, args: argparse.Namespace) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for name in ("backend_en", "backend_zh"):
            manifest = json.loads((Path(args.fixtures) / name / "manifest.json").read_text())
            for quality in ("strong", "weak"):
                await one_interview(base, manifest, quality, samples)
    return samples


def report(samples: dict[str, list[float]]) -> None:
    print(f"machine: {machine()}")
    print(f"{'answer -> next question':<36} {'n':>4} {'p50 s':>8} {'p95 s':>8}")
    turn_kinds = [k for k in samples if not k.startswith("score")]
    every = [x for k in turn_kinds for x in samples[k]]
    for kind in [*turn_kinds, "all"]:
        xs = every if kind == "all" else samples[kind]
        print(f"{kind:<36} {len(xs):>4} {pct(xs, 50)!s:>8} {pct(xs, 95)!s:>8}")
    for kind, xs in samples.items():
        if kind.startswith("score"):
            print(f"{kind:<36} {len(xs):>4} {pct(xs, 50)!s:>8} {pct(xs, 95)!s:>8}")
    print(f"mean of all turns: {statistics.mean(every):.3f} s")


async def wording(model: str, threads: int, languages: list[str]) -> None:
    """Each case's rephrasing and follow-up worded by `model`, in the order an interview drafts them (the rephrasing
    when the question opens, the follow-up at the answer's pauses): latency, share valid, share valid within budget."""
    backend = build_backend("llama_cpp", model=str(models.resolve(model)), n_threads=threads)
    budget = WordingConfig().timeout_s
    unlimited = WordingConfig(timeout_s=600)
    try:
        for language, cases in WORDING_CASES.items():
            if language not in languages:
                continue
            seconds: dict[str, list[float]] = {"rephrase": [], "follow_up": []}
            valid = dict.fromkeys(seconds, 0)
            in_time = dict.fromkeys(seconds, 0)
            for question, answer, gap in cases:
                for kind in seconds:
                    started = time.perf_counter()
                    if kind == "follow_up":
                        worded = await word_follow_up(
                            backend, language, question=question, answer=answer, gap=gap,
                            template="", config=unlimited,
                        )  # fmt: skip
                    else:
                        worded = await word_rephrase(
                            backend, language, original=question, template="", config=unlimited
                        )
                    took = time.perf_counter() - started
                    seconds[kind].append(took)
                    valid[kind] += worded.by_model
                    in_time[kind] += worded.by_model and took <= budget
                    print(f"    {language} {kind} {took:5.2f} s {'ok ' if worded.by_model else 'BAD'} {worded.text!r}")
            n = len(cases)
            for kind, took in seconds.items():
                print(
                    f"{model} {language} {kind:<9} n={n} p50 {pct(took, 50)} s p95 {pct(took, 95)} s; valid "
                    f"{valid[kind]}/{n} ({valid[kind] / n:.0%}); valid within {budget:.0f} s {in_time[kind]}/{n} "
                    f"({in_time[kind] / n:.0%})"
                )
    finally:
        await backend.aclose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--fixtures", default=str(FIXTURES))
    ap.add_argument("--wording-models", default="", help="comma-separated manifest names to word with directly")
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads for --wording-models")
    ap.add_argument("--languages", default="en,zh", help="languages for --wording-models")
    ap.add_argument("--no-server", action="store_true", help="only the --wording-models part")
    args = ap.parse_args()
    if args.wording_models:
        print(f"machine: {machine()}")
        for model in args.wording_models.split(","):
            asyncio.run(wording(model.strip(), args.threads, args.languages.split(",")))
    if args.no_server:
        return
    with server() as srv:
        samples = asyncio.run(play_all(srv.base, args))
    report(samples)


if __name__ == "__main__":
    main()
