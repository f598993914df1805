"""Where sentences end in transcribed or typed text, English and Chinese: the one rule every caller uses.

It lives in `media` because a transcript's punctuation is part of the words `media` produces (end-of-turn reads
it); `dialogue` reads the same transcripts with the same rule. No imports beyond `re`: it knows no interview.
"""

from __future__ import annotations

import re

# Marks that end a sentence. Chinese marks end one wherever they stand; a Latin . ! ? only before whitespace, the
# end of the text or Chinese text, so the periods of "2.5", "Node.js" and "e.g.," (and the ? of a URL) do not.
# The ellipsis … is left out: it marks speech trailing off, not a finished sentence.
_LATIN_MARKS = ".!?"
_CJK_MARKS = "。！？"
SENTENCE_MARKS = _LATIN_MARKS + _CJK_MARKS
# Closing quotes and brackets after the mark belong to the sentence they close.
_CLOSERS = "\"'”’)]）」』】》"
_CJK_TEXT = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"

_SENTENCE_END = re.compile(
    rf"(?:[{_CJK_MARKS}]+[{_LATIN_MARKS}{_CJK_MARKS}]*|[{_LATIN_MARKS}]+(?=[{re.escape(_CLOSERS)}]*(?:\s|$|[{_CJK_TEXT}])))"
    rf"[{re.escape(_CLOSERS)}]*"
)
_ENDS_WITH_SENTENCE_END = re.compile(rf"[{SENTENCE_MARKS}][{re.escape(_CLOSERS)}]*$")


def sentence_spans(text: str) -> list[tuple[int, str]]:
    """(character offset, sentence) pairs: each sentence stripped of surrounding space, still a verbatim slice."""
    spans = []
    begin = 0
    for end in [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]:
        chunk = text[begin:end]
        stripped = chunk.strip()
        if stripped:
            spans.append((begin + chunk.index(stripped), stripped))
        begin = end
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, in order, verbatim; a last one without a closing mark is still a sentence."""
    return [sentence for _, sentence in sentence_spans(text)]


def ends_sentence(text: str) -> bool:
    """Whether `text` ends at the end of a sentence (trailing space aside), by the same rule as `split_sentences`."""
    return bool(_ENDS_WITH_SENTENCE_END.search(text.rstrip()))
