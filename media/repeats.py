"""Whisper's decoding loops in a transcript: how to spot one (text that compresses too well) and cut it out.

Pure text functions; `media.whisper` uses them on every decoded window.
"""

from __future__ import annotations

import zlib


def compression_ratio(text: str) -> float:
    """How well the text compresses: a decoding loop ("the the the …") compresses far better than speech."""
    raw = text.encode("utf-8")
    return len(raw) / max(1, len(zlib.compress(raw)))


def collapse_repeats(text: str, language: str) -> str:
    """Removes back-to-back repeats of a phrase (Whisper's decoding loop: "I do is... I do is... I do is").

    A speaker may repeat a word or two; a run of >= 4 words (>= 5 characters in zh) said twice in a row inside
    one short segment is nearly always the model looping, so the later copies are dropped.
    """
    zh = language == "zh"
    if zh:
        # Characters are the units; punctuation rides on the character before it so it never breaks a match.
        units: list[str] = []
        for ch in text:
            if ch.isspace():
                continue
            if units and not ch.isalnum():
                units[-1] += ch
            else:
                units.append(ch)
    else:
        units = text.split()
    shortest = 5 if zh else 4

    def key(u: str) -> str:
        return "".join(ch for ch in u.lower() if ch.isalnum())

    keys = [key(u) for u in units]
    i = 0
    while i < len(units):
        for size in range(shortest, (len(units) - i) // 2 + 1):
            if keys[i : i + size] == keys[i + size : i + 2 * size] and any(keys[i : i + size]):
                del units[i + size : i + 2 * size]
                del keys[i + size : i + 2 * size]
                break
        else:
            i += 1
    return ("" if zh else " ").join(units)
