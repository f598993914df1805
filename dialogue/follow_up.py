"""Whether an answer needs a follow-up, decided by rules: too short, or a STAR element missing.

The model only words the follow-up (dialogue.wording); it never decides whether one is asked.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from dialogue.answer_features import star_elements
from dialogue.language import Language, length_units


class FollowUpReason(enum.Enum):
    TOO_SHORT = "too_short"
    MISSING_SITUATION = "missing_situation"
    MISSING_ACTION = "missing_action"
    MISSING_RESULT = "missing_result"


# A question that asks for a past example wants the whole story; a "how do you" question wants substance only.
_BEHAVIOURAL = re.compile(
    r"\b(tell me about a|describe a|a time (when|you)|give (me )?an example|walk me through a|talk about a)\b"
    r"|经历|一次|举例|举个例子|遇到.*挑战|是怎么"
)


@dataclass(frozen=True, slots=True)
class FollowUpPolicy:
    max_per_question: int = 1
    min_length_en: int = 25
    min_length_zh: int = 40

    def reason(self, question: str, answer: str, language: Language, asked_so_far: int) -> FollowUpReason | None:
        """Why the answer needs a follow-up, or None; the most basic gap first."""
        if asked_so_far >= self.max_per_question:
            return None
        minimum = self.min_length_zh if language == "zh" else self.min_length_en
        if length_units(answer, language) < minimum:
            return FollowUpReason.TOO_SHORT
        if not is_behavioural(question):
            return None
        present = star_elements(answer, language)
        for element, reason in (
            ("action", FollowUpReason.MISSING_ACTION),
            ("result", FollowUpReason.MISSING_RESULT),
            ("situation", FollowUpReason.MISSING_SITUATION),
        ):
            if element not in present:
                return reason
        return None


def is_behavioural(question: str) -> bool:
    return bool(_BEHAVIOURAL.search(question.lower()))
