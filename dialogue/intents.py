"""Whether a candidate's words ask for the question again: reworded (rephrase) or word for word (repeat).

Rules on short utterances only: an answer that mentions "repeat" in passing is still an answer.
"""

from __future__ import annotations

import enum
import re

from dialogue.language import Language, han_chars, words


class Intent(enum.Enum):
    REPHRASE = "rephrase"
    REPEAT = "repeat"


# A request is a short utterance; longer speech is an answer even if it contains the cue words.
_MAX_EN_WORDS = 18
_MAX_ZH_CHARS = 28

_EN_REPEAT = re.compile(
    r"\b(repeat (the |your |that )?(question|that|it)\b|repeat( (please|again))?[?.!]*$|say (that|it|the question) again|(didn'?t|did not|couldn'?t) (catch|hear)"
    r"|come again|one more time|pardon)"
)
_EN_REPHRASE = re.compile(
    r"\b(rephrase|reword|put (it|that) (another|a different|differently)|other words|explain (that|it|the "
    r"question)?\s*(differently|again|another way|more)|(don'?t|do not|not sure i) (understand|follow|get)"
    r"|what do you mean|what does that mean|(clarify|elaborate on) the question|(simpler|different) way"
    r"|could you explain|can you explain)"
)
_ZH_REPEAT = re.compile(r"(再说一遍|再讲一遍|重复一下|重复一遍|再重复|没听清|再念一遍|再说一次|请重复)")
_ZH_REPHRASE = re.compile(
    r"(没听懂|没懂|不太懂|不明白|不太明白|不理解|再解释|解释一下|换个说法|换一种说法|换种方式|什么意思|具体指什么|能不能说得?简单)"
)


def detect_intent(text: str, language: Language | None = None) -> Intent | None:
    """The request in `text`, if it is one; repeat wins when both cues appear ("repeat it, I didn't understand")."""
    # Either language's request is understood in both interviews: candidates switch languages to ask.
    lowered = text.lower().replace("’", "'")
    if han_chars(text):
        if len(han_chars(text)) > _MAX_ZH_CHARS:
            return None
        if _ZH_REPEAT.search(text):
            return Intent.REPEAT
        if _ZH_REPHRASE.search(text):
            return Intent.REPHRASE
    if len(words(lowered)) > _MAX_EN_WORDS or not words(lowered):
        return None
    if _EN_REPEAT.search(lowered):
        return Intent.REPEAT
    if _EN_REPHRASE.search(lowered):
        return Intent.REPHRASE
    return None
