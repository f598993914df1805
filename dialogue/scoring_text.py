"""The words of a report in each interview language: strengths, weaknesses, suggestions, notes, rationale."""

from __future__ import annotations

from dataclasses import dataclass

from dialogue.language import Language


@dataclass(frozen=True, slots=True)
class ScoringText:
    strength: str  # {dimension}
    weakness: dict[str, str]  # by factor, {dimension}
    suggestion: dict[str, str]  # by factor
    insufficient: str  # {dimension}
    unscored: str  # {dimension}: no scoring model read it
    no_scorer: str
    injection: str  # {count}
    truncated: str
    rationale: str  # per answer
    judge: str  # {model} {score}


_EN = ScoringText(
    strength="{dimension}: a concrete example, told in the candidate's own words, that answers the question.",
    weakness={
        "content": "{dimension}: no specific example of what the candidate did and what came of it.",
        "specificity": "{dimension}: generic statements that could describe anyone; no real event.",
        "relevance": "{dimension}: the answer fits a different question better than the one asked.",
        "substance": "{dimension}: a list of keywords rather than an account of what happened.",
    },
    suggestion={
        "content": "Pick one real situation and say what you did yourself and how it turned out.",
        "specificity": "Replace general claims with what actually happened: who, when, what you did, what changed.",
        "relevance": "Answer the question that was asked; check the example you choose matches it.",
        "substance": "Explain one piece of work in sentences rather than listing skills and tools.",
    },
    insufficient="{dimension}: not enough of an answer to judge; left out of the overall score.",
    unscored="{dimension}: not scored (no scoring model); a person should read the answers.",
    no_scorer="No scoring model is configured: no answer was scored; a person should review the transcript.",
    injection="{count} passage(s) addressed to the scorer or an AI were removed; the lower score was kept.",
    truncated="A very long answer was read up to its first {chars} characters.",
    rationale=(
        "{question_id}: {score:.1f} = 10 x content {content:.2f} (rubric {rubric:.1f}/9) x specificity "
        "{specificity:.2f} (surprisal {surprisal:.2f} nats/token, detail {detail:.1f}) x relevance {relevance:.2f} "
        "(margin {margin:+.2f} nats/token) x substance {substance:.2f}."
    ),
    judge="Judge model ({model}) gave {score}/10 on its own; it is reported here and not mixed into the score.",
)

_ZH = ScoringText(
    strength="{dimension}：用自己的话讲了一个回答了问题的具体例子。",
    weakness={
        "content": "{dimension}：没有讲出自己具体做了什么、结果如何。",
        "specificity": "{dimension}：多是放在谁身上都成立的套话，没有真实经历。",
        "relevance": "{dimension}：回答更像是在回答另一个问题。",
        "substance": "{dimension}：只列了关键词，没有讲经过。",
    },
    suggestion={
        "content": "选一件真实的事，讲清楚你本人做了什么、结果怎样。",
        "specificity": "少说概括性的话，多讲实际发生了什么：什么时候、你做了什么、带来了什么变化。",
        "relevance": "先确认所举的例子对应的是被问到的问题。",
        "substance": "用完整的句子讲清楚一件事，而不是罗列技能和工具。",
    },
    insufficient="{dimension}：回答不足以评判，未计入总分。",
    unscored="{dimension}：未评分（未配置评分模型），需要人工阅读回答。",
    no_scorer="未配置评分模型：所有回答均未评分，需要人工审阅记录。",
    injection="删除了 {count} 处写给评分系统或AI的内容；取较低的分数。",
    truncated="一个很长的回答只读取了前 {chars} 个字符。",
    rationale=(
        "{question_id}：{score:.1f} = 10 × 内容 {content:.2f}（评分量表 {rubric:.1f}/9）× 具体性 {specificity:.2f}"
        "（意外度 {surprisal:.2f} 纳特/词元，细节 {detail:.1f}）× 切题 {relevance:.2f}（差 {margin:+.2f} 纳特/词元）"
        "× 实质 {substance:.2f}。"
    ),
    judge="评判模型（{model}）单独给出 {score}/10，仅供参考，不计入分数。",
)


def scoring_text(language: Language) -> ScoringText:
    return _ZH if language == "zh" else _EN
