"""How well the scorer separates answers, how long it takes, and how soon the report is ready after an interview.

Reads the labelled dev set (tests/dialogue/scoring_devset: jobs in en and zh, each answer labelled strong, weak,
stuffed, generic, misdirected or injection) and scores every answer of the chosen split with the real scoring
pipeline (`AnswerJudge`, embedded Qwen2.5-Coder-1.5B-Instruct unless --model), then prints:

- per label pair (strong vs each other label), per language: mean gap in points and AUC;
- injection: how many injected answers scored above the same answer without the injected text;
- per job: the mean score of its answers by label (an interview answered all strong vs all weak, ...);
- a thin answer plus a thin follow-up against one full answer;
- time and prompt tokens per answer.

`--save FILE` keeps each answer's signals; `--from FILE` re-combines saved signals with the current constants
without running the model (for tuning on the dev split). `--sessions 1 4` also runs that many interviews at once
through `Interviewer` (answers judged in the background as turns end) and prints the time from the closing answer
to the report, p50/p95.

usage: python bench/scoring.py [--split dev|test|all] [--model NAME_OR_GGUF] [--threads 1] [--niceness 10] [--questions N]
                               [--no-follow-ups] [--save FILE | --from FILE] [--sessions 1 4] [--pace 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import models
from dialogue.answer_signals import AnswerSignals, SignalReader
from dialogue.injection import addressed_to_scorer, without_spans
from dialogue.interviewer import Interviewer, InterviewerModels, QuestionAsked, ReportReady
from dialogue.llm.token_logprobs import LlamaCppTokenScorer
from dialogue.plan import InterviewPlan, QuestionSpec, Requisition, build_plan
from dialogue.scoring import AnswerJudge, combined, factors
from dialogue.session import AnswerFinished, QuestionKind, Turn

DEVSET = Path(__file__).resolve().parents[1] / "tests" / "dialogue" / "scoring_devset"
OTHERS = ("weak", "stuffed", "generic", "misdirected")
THIN_FOLLOW_UP = {
    "en": "Yes, we just kept at it and it got better over time, I think.",
    "zh": "对，就是大家一起努力，后来慢慢就好了。",
}


@dataclass
class Item:
    job: str
    language: str
    question_id: str
    label: str
    base: str | None
    text: str
    score: float = 0.0
    seconds: float = 0.0
    prompt_tokens: int = 0


def load(split: str) -> list[tuple[dict[str, Any], InterviewPlan]]:
    out = []
    for path in sorted(DEVSET.glob("*.json")):
        job = json.loads(path.read_text(encoding="utf-8"))
        if split != "all" and job["split"] != split:
            continue
        plan = build_plan(
            Requisition(
                job["title"],
                "",
                tuple(job["requirements"]),
                job["language"],
                questions=tuple(QuestionSpec(q["text"], q["dimension"]) for q in job["questions"]),
            )
        )
        out.append((job, plan))
    return out


def turn(question_id: str, text: str, seq: int = 1, kind: QuestionKind = QuestionKind.MAIN) -> Turn:
    return Turn(seq, question_id, question_id, kind, "", text, None, None)


def auc(pos: list[float], neg: list[float]) -> float:
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg)) if pos and neg else float("nan")


async def score_items(
    jobs: list[tuple[dict[str, Any], InterviewPlan]], judge: AnswerJudge, questions: int
) -> list[Item]:
    """Every answer to each job's first `questions` questions, first questions of every job first: a run cut short
    still covers every job and language."""
    items = []
    for index in range(min(questions, max(len(job["questions"]) for job, _ in jobs))):
        for job, plan in jobs:
            if index >= len(job["questions"]):
                continue
            q, planned = job["questions"][index], plan.questions[index]
            for a in q["answers"]:
                started = time.perf_counter()
                scored = await judge.judge(plan, planned.id, [turn(planned.id, a["text"])])
                item = Item(job["job"], job["language"], planned.id, a["label"], a.get("base"), a["text"])
                item.score = scored.score if scored.score is not None else 0.0
                item.seconds = time.perf_counter() - started
                items.append(item)
                print(f"  {item.job} {item.question_id} {item.label:12s} {item.score:5.2f}  ({item.seconds:.1f} s)")
    return items


class SavedReader:
    """Signals saved by an earlier run (`--save`), looked up by answer text; for re-combining without the model."""

    def __init__(self, path: Path) -> None:
        self.rows = {(r["question"], r["text"]): r for r in map(json.loads, path.read_text().splitlines())}

    def score(self, question: str, text: str, language: str) -> float | None:
        r = self.rows.get((question, text))
        if r is None:
            return None
        s = AnswerSignals(r["rubric"], r["surprisal"], r["detail"], r["relevance"], r["tokens"], 0, r["seconds"])
        return combined(factors(s, text, language))  # type: ignore[arg-type]


class RecordingReader(SignalReader):
    """A SignalReader that appends what it read to a file, for `--from` runs, and reuses what the file holds
    (a run cut short resumes where it stopped)."""

    def __init__(self, scorer: LlamaCppTokenScorer, path: Path) -> None:
        super().__init__(scorer)
        self.known = SavedReader(path).rows if path.exists() else {}
        self.out = path.open("a", encoding="utf-8")

    async def read(
        self, answer: str, question: str, other_questions: Any, language: Any, *, urgency: Any = None
    ) -> AnswerSignals:
        if (question, answer) in self.known:
            r = self.known[(question, answer)]
            return AnswerSignals(r["rubric"], r["surprisal"], r["detail"], r["relevance"], r["tokens"], 0, 0.0)
        s = await super().read(answer, question, other_questions, language, urgency=urgency)
        row = {"question": question, "text": answer, "rubric": s.rubric, "surprisal": s.surprisal,
               "detail": s.detail, "relevance": s.relevance, "tokens": s.tokens, "seconds": s.seconds, "prompt_tokens": s.prompt_tokens}  # fmt: skip
        self.out.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.out.flush()
        return s


def rescore(jobs: list[tuple[dict[str, Any], InterviewPlan]], saved: SavedReader) -> list[Item]:
    """The pipeline's own rule (read with and without injected text, keep the lower) over saved signals; answers
    the saving run had not reached yet are left out."""
    items = []
    for job, plan in jobs:
        for q, planned in zip(job["questions"], plan.questions, strict=True):
            for a in q["answers"]:
                spans = addressed_to_scorer(a["text"])
                texts = [without_spans(a["text"], spans)] + ([a["text"]] if spans else [])
                scores = [saved.score(planned.text, t, job["language"]) for t in texts]
                if any(x is None for x in scores):
                    continue  # not read yet by the run that saved the file
                score = min(x for x in scores if x is not None)
                item = Item(job["job"], job["language"], planned.id, a["label"], a.get("base"), a["text"], score)
                rows = [saved.rows[(planned.text, t)] for t in texts]
                item.seconds = sum(r["seconds"] for r in rows)
                item.prompt_tokens = sum(r.get("prompt_tokens", 0) for r in rows)
                items.append(item)
    return items


def signal_table(jobs: list[tuple[dict[str, Any], InterviewPlan]], saved: SavedReader) -> None:
    """Each signal's median and range per language and label: where a constant's threshold falls."""
    print("\nsignals per language and label: median (min-max)")
    names = ("rubric", "surprisal", "detail", "relevance", "tokens")
    for language in ("en", "zh"):
        for label in ("strong", *OTHERS):
            rows = [saved.rows[(planned.text, a["text"])]
                    for job, plan in jobs if job["language"] == language
                    for q, planned in zip(job["questions"], plan.questions, strict=True)
                    for a in q["answers"] if a["label"] == label and (planned.text, a["text"]) in saved.rows]  # fmt: skip
            if rows:
                cells = " ".join(
                    f"{n} {statistics.median(r[n] for r in rows):.2f} ({min(r[n] for r in rows):.1f}-"
                    f"{max(r[n] for r in rows):.1f})"
                    for n in names
                )
                print(f"  {language} {label:12s} n={len(rows):2d} {cells}")


def report(items: list[Item]) -> None:
    print("\nseparation (strong vs each label): mean gap in points, AUC")
    for language in ("en", "zh", "all"):
        mine = [i for i in items if language in ("all", i.language)]
        strong = [i.score for i in mine if i.label == "strong"]
        cells = []
        for label in OTHERS:
            other = [i.score for i in mine if i.label == label]
            if strong and other:
                gap = statistics.mean(strong) - statistics.mean(other)
                cells.append(f"{label} {gap:+.2f} / {auc(strong, other):.2f}")
        mean = statistics.mean(strong) if strong else float("nan")
        print(f"  {language:3s} strong mean {mean:.2f} | " + " | ".join(cells))
    print("\nmean score by label:")
    for label in ("strong", *OTHERS, "injection"):
        xs = [i.score for i in items if i.label == label]
        if xs:
            print(f"  {label:12s} n={len(xs):3d} mean {statistics.mean(xs):.2f} min {min(xs):.2f} max {max(xs):.2f}")
    print("\ninjection: the injected answer against the same answer without the injected text")
    over = 0
    injected = [i for i in items if i.label == "injection"]
    for i in injected:
        base = next((b for b in items if (b.job, b.question_id, b.label) == (i.job, i.question_id, i.base)), None)
        if base is not None and i.score > base.score + 1e-9:
            over += 1
            print(f"  ABOVE: {i.job} {i.question_id} {i.score:.2f} > {base.score:.2f}")
    print(f"  {over} of {len(injected)} injected answers scored above their base answer")
    print("\nper job, mean over its questions (an interview answered all one way):")
    for job in dict.fromkeys(i.job for i in items):
        by = {label: statistics.mean(xs) for label in ("strong", *OTHERS, "injection")
              if (xs := [i.score for i in items if i.job == job and i.label == label])}  # fmt: skip
        if "strong" not in by:
            continue
        gaps = " ".join(f"{k} {by['strong'] - v:+.1f}" for k, v in by.items() if k != "strong")
        print(f"  {job:24s} strong {by['strong']:.1f} | gap to: {gaps}")
    timed = [i for i in items if i.seconds]
    if timed:
        secs = sorted(i.seconds for i in timed)
        tokens = [i.prompt_tokens for i in timed if i.prompt_tokens]
        print(f"\ntime per answer: mean {statistics.mean(secs):.2f} s, p50 {secs[len(secs) // 2]:.2f} s, "
              f"p95 {secs[min(len(secs) - 1, round(0.95 * (len(secs) - 1)))]:.2f} s over {len(secs)} answers"
              + (f"; prompt tokens evaluated per answer: mean {statistics.mean(tokens):.0f}" if tokens else ""))  # fmt: skip


async def follow_ups(jobs: list[tuple[dict[str, Any], InterviewPlan]], judge: AnswerJudge) -> None:
    print("\nthin answer + thin follow-up against one full (strong) answer:")
    beaten = total = 0
    for job, plan in jobs:
        for q, planned in zip(job["questions"], plan.questions, strict=True):
            weak = next(a["text"] for a in q["answers"] if a["label"] == "weak")
            strong = next(a["text"] for a in q["answers"] if a["label"] == "strong")
            thin = [
                turn(planned.id, weak),
                turn(planned.id, THIN_FOLLOW_UP[job["language"]], 2, QuestionKind.FOLLOW_UP),
            ]
            two = await judge.judge(plan, planned.id, thin)
            one = await judge.judge(plan, planned.id, [turn(planned.id, strong)])
            total += 1
            beaten += (two.score or 0) >= (one.score or 0)
            print(f"  {job['job']} {planned.id}: thin+thin {two.score} vs full {one.score}")
    print(f"  thin+thin reached the full answer in {beaten} of {total}")


async def latency(jobs: list[tuple[dict[str, Any], InterviewPlan]], judge: AnswerJudge, n: int, pace: float) -> None:
    """n interviews at once, answers `pace` seconds apart: time from the closing answer to the report."""

    async def one(job: dict[str, Any], plan: InterviewPlan) -> float:
        interviewer = Interviewer(plan, InterviewerModels(answers=judge))
        [asked] = interviewer.start()
        while True:
            assert isinstance(asked, QuestionAsked)
            q = asked.question
            await asyncio.sleep(pace)  # the candidate speaks
            if q.kind is QuestionKind.CLOSING:
                closing_at = time.perf_counter()
                done = "No, thank you." if plan.language == "en" else "没有了，谢谢。"
                events = await interviewer.handle(AnswerFinished(done))
                assert any(isinstance(e, ReportReady) for e in events)
                return time.perf_counter() - closing_at
            if q.kind is QuestionKind.FOLLOW_UP:
                text = THIN_FOLLOW_UP[plan.language]
            else:
                main = job["questions"][q.index - 1]["answers"]
                text = next(a["text"] for a in main if a["label"] == "strong")
            events = await interviewer.handle(AnswerFinished(text))
            asked = next(e for e in events if isinstance(e, QuestionAsked))

    picked = [jobs[i % len(jobs)] for i in range(n)]
    # A fresh judge per run: answers scored by an earlier run would otherwise be remembered.
    waits = await asyncio.gather(*(one(job, plan) for job, plan in picked))
    waits = sorted(waits)
    p95 = waits[min(len(waits) - 1, round(0.95 * (len(waits) - 1)))]
    print(f"  {n} session(s) at once, answers {pace:g} s apart: report after the closing answer "
          f"p50 {waits[len(waits) // 2]:.2f} s, p95 {p95:.2f} s, max {waits[-1]:.2f} s")  # fmt: skip


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="dev", choices=("dev", "test", "all"))
    ap.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--niceness", type=int, default=10, help="the scorer thread's nice value (the server's is 10)")
    ap.add_argument("--questions", type=int, default=99, help="score only each job's first N questions (0: none)")
    ap.add_argument("--no-follow-ups", action="store_true", help="skip the thin-answer-plus-follow-up check")
    ap.add_argument("--save", type=Path)
    ap.add_argument("--from", dest="saved", type=Path)
    ap.add_argument("--sessions", type=int, nargs="*", default=[])
    ap.add_argument("--pace", type=float, default=6.0, help="seconds between answers in --sessions runs")
    args = ap.parse_args()
    jobs = load(args.split)
    load_avg = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"split {args.split}: {len(jobs)} jobs, {sum(len(q['answers']) for j, _ in jobs for q in j['questions'])} "
          f"answers; {os.cpu_count()} CPUs, load average {load_avg}")  # fmt: skip
    if args.saved:
        saved = SavedReader(args.saved)
        report(rescore(jobs, saved))
        signal_table(jobs, saved)
        return
    path = models.resolve(args.model)
    scorer = LlamaCppTokenScorer(
        path, n_threads=args.threads, niceness=args.niceness, model_sha256=models.embedded_sha256(args.model)
    )
    print(f"model {path.name}, {args.threads} thread(s)")
    try:
        reader = RecordingReader(scorer, args.save) if args.save else SignalReader(scorer)
        if args.questions > 0:
            report(await score_items(jobs, AnswerJudge(reader), args.questions))
        if not args.no_follow_ups:
            await follow_ups(jobs, AnswerJudge(reader))
        if args.sessions:
            print("\nreport latency (answers judged in the background as turns end):")
        for n in args.sessions:
            await latency(jobs, AnswerJudge(SignalReader(scorer)), n, args.pace)
    finally:
        await scorer.aclose()


if __name__ == "__main__":
    asyncio.run(main())
