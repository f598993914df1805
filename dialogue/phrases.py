"""What the interviewer says when no model words it: question templates, closings, fallbacks, report sentences.

One table per language; the model's wording (prompts/) replaces these only when it passes validation.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialogue.language import Language


@dataclass(frozen=True, slots=True)
class Phrases:
    question_for_requirement: str
    question_general: str
    closing: str
    rephrase_wrapper: str
    follow_up: dict[str, str]
    strength: dict[str, str]
    weakness: dict[str, str]
    suggestion: dict[str, str]
    not_covered: str
    rationale: str
    judged_by_model: str


EN = Phrases(
    question_for_requirement=(
        "Tell me about a time your work relied on {topic}. What was the situation, what did you do, "
        "and what was the result?"
    ),
    question_general="What in your past work best prepares you for this {title} role? Please give one example.",
    closing="Thank you, those are all my questions. Is there anything you would like to add or ask us?",
    rephrase_wrapper="Let me put it another way. {core} A concrete example from your own work would be ideal.",
    follow_up={
        "too_short": "Could you tell me more about that, with one specific example from your own work?",
        "missing_situation": "What was the situation, and what exactly was your task there?",
        "missing_action": "What did you personally do, step by step?",
        "missing_result": "What was the result, and how did you measure it?",
    },
    strength={
        "star": "Structures answers well: situation, action and result are all there",
        "specificity": "Gives concrete detail: numbers, named tools and outcomes",
        "coverage": "Speaks to the job's requirements: {terms}",
        "relevance": "Stays on the question asked",
    },
    weakness={
        "star": "Answers often miss part of the story (situation, own action or result)",
        "specificity": "Few concrete details: little in the way of numbers, tools or outcomes",
        "coverage": "Did not address some of the job's requirements: {terms}",
        "relevance": "Some answers drift away from the question",
        "length": "Answers are brief",
    },
    suggestion={
        "star": "Use the STAR shape: the situation, your task, what you did, and the measurable result",
        "specificity": "Back claims with specifics: numbers, the tools used, what changed afterwards",
        "coverage": "Prepare an example for each requirement of the role, e.g. {terms}",
        "relevance": "Answer the question asked first, then add context",
        "length": "Take a little more time per answer: one full example is better than a summary",
    },
    not_covered="No answer addressed this dimension.",
    rationale=(
        "STAR {star:.0%}, specificity {specificity:.0%}, relevance {relevance:.0%}, "
        "requirement coverage {coverage:.0%}, length {length:.0%} over {answers} answer(s)."
    ),
    judged_by_model="Model judgement ({model}): {score}/10. {rationale}",
)

ZH = Phrases(
    question_for_requirement="请讲一次你的工作中用到“{topic}”的经历：当时是什么情况，你具体做了什么，结果如何？",
    question_general="你过去的哪段经历最能说明你适合{title}这个岗位？请举一个例子。",
    closing="谢谢，我的问题就这些。你还有什么想补充或者想问我们的吗？",
    rephrase_wrapper="换个说法：{core} 最好结合一个你亲身经历的具体例子来说。",
    follow_up={
        "too_short": "能再具体讲讲吗？最好举一个你亲身经历的例子。",
        "missing_situation": "当时是什么背景？你具体负责什么任务？",
        "missing_action": "你本人具体做了哪些事情？",
        "missing_result": "最后的结果怎么样？有没有可以量化的数据？",
    },
    strength={
        "star": "回答结构清晰：背景、行动和结果都讲到了",
        "specificity": "细节具体：有数字、工具和成果",
        "coverage": "回答覆盖了岗位要求：{terms}",
        "relevance": "回答紧扣问题",
    },
    weakness={
        "star": "回答常常缺少背景、个人行动或结果中的一部分",
        "specificity": "细节较少：缺少数字、工具或成果",
        "coverage": "没有谈到部分岗位要求：{terms}",
        "relevance": "部分回答偏离了问题",
        "length": "回答较为简短",
    },
    suggestion={
        "star": "用STAR结构回答：背景、任务、你的行动、可量化的结果",
        "specificity": "用具体内容支撑观点：数字、使用的工具、带来的变化",
        "coverage": "针对岗位的每项要求准备一个例子，例如：{terms}",
        "relevance": "先直接回答问题，再补充背景",
        "length": "每个回答多讲一些：一个完整的例子胜过一句概括",
    },
    not_covered="没有回答涉及这一维度。",
    rationale=(
        "STAR完整度 {star:.0%}，具体程度 {specificity:.0%}，切题程度 {relevance:.0%}，"
        "岗位要求覆盖 {coverage:.0%}，篇幅 {length:.0%}，共 {answers} 个回答。"
    ),
    judged_by_model="模型评判（{model}）：{score}/10。{rationale}",
)

_TABLES: dict[str, Phrases] = {"en": EN, "zh": ZH}


def phrases(language: Language) -> Phrases:
    return _TABLES[language]
