"""The interview languages and how text in each is split into comparable units.

English compares lower-cased words; Chinese, written without spaces, compares characters and character bigrams.
"""

from __future__ import annotations

import itertools
import re
from typing import Literal, get_args

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = get_args(Language)

_WORD = re.compile(r"[a-z0-9][a-z0-9+#.'-]*[a-z0-9+#]|[a-z0-9]")
_HAN = re.compile(r"[\u4e00-\u9fff]")

_EN_STOPWORD_TEXT = """a an the and or but if then so of to in on at by for with from as is are was were be been being it its
    this that these those i me my we our you your he she they them their what which who whom how when where why
    do does did done have has had having not no yes can could would should will shall may might must about into
    over under again there here than too very just also some any each all both more most other such only own same
    tell describe time give example please us me one"""
EN_STOPWORDS = frozenset(_EN_STOPWORD_TEXT.split())
ZH_STOPWORDS = frozenset("的了是在我你他她它们这那有和与就也都而及或一个吗呢吧啊请")


def words(text: str) -> list[str]:
    """English word tokens, lower-cased, keeping tech spellings such as c++, c#, node.js."""
    return _WORD.findall(text.lower())


def han_chars(text: str) -> list[str]:
    return _HAN.findall(text)


def content_units(text: str, language: Language) -> set[str]:
    """The units that carry meaning: English words minus stop words, or Chinese character bigrams."""
    if language == "zh":
        chars = [c for c in han_chars(text) if c not in ZH_STOPWORDS]
        bigrams = {a + b for a, b in itertools.pairwise(chars)}
        latin = {w for w in words(text) if w not in EN_STOPWORDS}
        return bigrams | latin
    return {w for w in words(text) if w not in EN_STOPWORDS and len(w) > 1}


def meaning_chars(text: str) -> set[str]:
    """Chinese characters that carry meaning, for matching short labels such as 抗压能力强 against 压力."""
    return {c for c in han_chars(text) if c not in ZH_STOPWORDS}


def length_units(text: str, language: Language) -> int:
    """How long an answer is: words in English, characters in Chinese (a Latin word counts as two)."""
    if language == "zh":
        return len(han_chars(text)) + 2 * len(words(text))
    return len(words(text))
