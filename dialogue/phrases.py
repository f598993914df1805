"""What the interviewer says when no model words it: question templates, closings, fallbacks.

The report's words are in dialogue.scoring_text.

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
)

_TABLES: dict[str, Phrases] = {"en": EN, "zh": ZH}


def phrases(language: Language) -> Phrases:
    return _TABLES[language]
