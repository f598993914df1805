"""Prints the time to a model-drafted plan and the share of generated questions that pass validation first try.

Twelve requisitions of our own (six English, six Chinese) without dimensions or questions, each drafted by a
packaged model through `draft_plan`, exactly as `POST /v1/jobs` does it. Nothing is asserted.
Run: python bench/plan.py [--model NAME_OR_GGUF ...] [--threads N] [--limit N] [--show N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import machine, pct

import models
from dialogue.llm import build_backend
from dialogue.plan import InterviewPlan, Requisition
from dialogue.plan_draft import draft_plan

REQUISITIONS: tuple[Requisition, ...] = (
    Requisition(
        "Backend Engineer",
        "Build and run the order services of an online shop.",
        ("3+ years of Python", "REST API design", "PostgreSQL performance tuning"),
        "en",
    ),
    Requisition(
        "Customer Support Lead",
        "Lead a team of eight agents answering customers by chat and phone.",
        ("people management", "handling escalations", "support metrics such as CSAT"),
        "en",
    ),
    Requisition(
        "Data Analyst",
        "Turn sales data into weekly decisions for the commercial team.",
        ("SQL", "dashboarding in Tableau or Power BI", "explaining numbers to non-analysts"),
        "en",
    ),
    Requisition(
        "Warehouse Shift Supervisor",
        "Run the night shift of a 40-person distribution centre.",
        ("safety compliance", "scheduling staff", "inventory accuracy"),
        "en",
    ),
    Requisition(
        "Product Designer",
        "Design the mobile app of a personal finance start-up.",
        ("user research", "prototyping in Figma", "working with engineers"),
        "en",
    ),
    Requisition(
        "Account Executive",
        "Sell our SaaS to mid-sized companies.",
        ("outbound prospecting", "negotiation", "CRM discipline"),
        "en",
    ),
    Requisition(
        "销售经理",
        "负责华南区企业客户的开拓和维护。",
        ("5年以上To B销售经验", "团队管理能力", "客户资源积累"),
        "zh",
    ),
    Requisition(
        "Java开发工程师",
        "参与支付系统后端的设计与开发。",
        ("熟练掌握Spring Boot", "有微服务项目经验", "抗压能力强"),
        "zh",
    ),
    Requisition(
        "新媒体运营",
        "负责公司公众号和短视频账号的内容运营。",
        ("内容策划", "数据分析", "热点敏感度"),
        "zh",
    ),
    Requisition(
        "财务主管",
        "负责集团子公司的核算和报表。",
        ("熟悉企业会计准则", "预算管理", "跨部门沟通"),
        "zh",
    ),
    Requisition(
        "测试工程师",
        "保证移动端产品的发布质量。",
        ("自动化测试", "缺陷分析", "细心负责"),
        "zh",
    ),
    Requisition(
        "门店店长",
        "管理一家二十人的连锁餐饮门店。",
        ("门店运营管理", "员工培训", "顾客投诉处理"),
        "zh",
    ),
)


def show(plan: InterviewPlan) -> str:
    lines = [f"{plan.title} ({plan.language})"]
    for d in plan.dimensions:
        lines.append(f"  {d.name}  {d.weight:.0%}  — {d.reason}")
        lines += [f"    {q.id}: {q.text}" for q in plan.questions if q.dimension == d.name]
    return "\n".join(lines)


async def bench(model: str, threads: int, limit: int, show_plans: int) -> None:
    path = models.resolve(model) if not model.endswith(".gguf") else Path(model)
    started = time.perf_counter()
    backend = build_backend("llama_cpp", model=str(path), n_threads=threads)
    print(f"\n== {path.name}: loaded in {time.perf_counter() - started:.1f} s")
    by_language: dict[str, list[tuple[float, int, int, int, int, bool]]] = {"en": [], "zh": []}
    shown = 0
    try:
        for req in [*REQUISITIONS[:6][:limit], *REQUISITIONS[6:][:limit]]:
            plan, stats = await draft_plan(backend, req)
            by_language[req.language].append(
                (
                    stats.seconds,
                    stats.proposed_questions,
                    stats.valid_first_try,
                    stats.valid_on_retry,
                    stats.templated,
                    stats.template_plan,
                )
            )
            print(
                f"{req.title:28} {stats.seconds:6.1f} s  questions {stats.proposed_questions}, "
                f"first try {stats.valid_first_try}, retried {stats.valid_on_retry}, "
                f"template {stats.templated}{', TEMPLATE PLAN' if stats.template_plan else ''}"
            )
            for problem in stats.problems:
                print(f"    rejected: {problem}")
            if shown < show_plans or (req.language == "zh" and shown < show_plans + 1):
                print(show(plan))
                shown += 1
    finally:
        await backend.aclose()
    for language, rows in by_language.items():
        if not rows:
            continue
        seconds = [r[0] for r in rows]
        proposed = sum(r[1] for r in rows)
        first = sum(r[2] for r in rows)
        print(
            f"{path.name} {language}: {len(rows)} plans, time to plan p50 {statistics.median(seconds):.1f} s, "
            f"p95 {pct(seconds, 95):.1f} s; questions passing first try {first}/{proposed} "
            f"({first / proposed if proposed else 0:.0%}); fixed on retry {sum(r[3] for r in rows)}, "
            f"templated {sum(r[4] for r in rows)}, whole template plans {sum(r[5] for r in rows)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", action="append", help="manifest name or GGUF path (repeatable)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=6, help="requisitions per language (at most 6)")
    parser.add_argument("--show", type=int, default=2, help="plans to print in full (plus one Chinese)")
    args = parser.parse_args()
    print(machine())
    for model in args.model or ["qwen2.5-coder-1.5b-instruct", "qwen2.5-coder-0.5b"]:
        asyncio.run(bench(model, args.threads, args.limit, args.show))


if __name__ == "__main__":
    main()
