"""Surface features of an answer that the interview's rules read: its STAR elements (for follow-ups) and the
meaning units of a job requirement (for highlights). They decide no score: scoring reads the scoring model's
probabilities (dialogue.scoring)."""

from __future__ import annotations

import re

from dialogue.language import Language, content_units, han_chars, meaning_chars

STAR_ELEMENTS = ("situation", "action", "result")

_EN_SITUATION = re.compile(
    r"\b(at my (last|previous|current)|when (i|we|our)|in my (last|previous|current)|our (team|company|service|"
    r"system|product|client)|the (project|challenge|problem|goal|situation|context)|my (task|role|job|goal|"
    r"responsibility) (was|is)|i was (responsible|asked|tasked)|(days?|weeks?|months?) before|last year|"
    r"we had to|there was|we were)\b"
)
# "I" or "we" doing something: a past-tense verb (regular, or a common irregular one) or a habitual present.
_EN_ACTION = re.compile(
    r"\b(i|we)( \w+ly)? (\w+ed|led|built|made|wrote|ran|cut|took|set up|set|found|chose|brought|taught|drove|"
    r"began|kept|got|put|held|spent|sent|split|did|rewrote|start|add|define|write|run|use|track|review|build|"
    r"set|talk|check|make|lead|ask|test|plan|measure|monitor|automate|document)\b"
)
_EN_RESULT = re.compile(
    r"\b(as a result|the result|resulted in|result was|outcome|which (led|meant|cut|reduced)|so that|in the end|"
    r"finally|afterwards|cut|reduced|improved|increased|decreased|dropped|saved|launched|delivered|handled|"
    r"achieved|grew|shipped|on time|no data loss|zero downtime|faster|fewer)\b"
)
_ZH_SITUATION = re.compile(
    r"(在.{0,8}(公司|项目|团队|时候|期间)|当时|有一次|之前|背景|任务是|负责|挑战|遇到|面临|需要)"
)
_ZH_ACTION = re.compile(
    r"(我们?(带领|引入|采用|设计|实现|优化|重构|拆分|搭建|编写|排查|分析|推动|组织|制定|使用|增加|加入|做了|决定))"
)
_ZH_RESULT = re.compile(r"(结果|最后|最终|缩短|提高|提升|降低|减少|增长|节省|按时|成功|上线|沿用|效果|达到)")


def star_elements(text: str, language: Language) -> frozenset[str]:
    lowered = text.lower().replace("’", "'")
    patterns = (
        (_ZH_SITUATION, _ZH_ACTION, _ZH_RESULT)
        if language == "zh" and han_chars(text)
        else (_EN_SITUATION, _EN_ACTION, _EN_RESULT)
    )
    return frozenset(name for name, p in zip(STAR_ELEMENTS, patterns, strict=True) if p.search(lowered))


# Requirement boilerplate that says how much, not what: 熟练掌握Spring Boot is about Spring Boot.
_ZH_REQUIREMENT_FILLER = re.compile(
    r"熟练掌握|熟练|掌握|熟悉|精通|了解|具备|具有|良好的?|项目经验|相关经验|经验|能力强|能力|优秀的?|有"
)


def requirement_terms(requirement: str, language: Language) -> set[str]:
    if language == "zh":
        core = _ZH_REQUIREMENT_FILLER.sub(" ", requirement)
        return content_units(core, language) | (meaning_chars(core) if len(han_chars(core)) < 3 else set())
    return content_units(requirement, language)
