"""Chinese script conversion: Whisper writes Mandarin mostly in Traditional; zh-CN users must see Simplified.

One OpenCC `t2s` converter per process (its construction parses dictionaries; conversion itself is
thread-safe).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import opencc


@cache
def _converter() -> Any:
    # The PyPI `opencc` wheel names configs with or without ".json" depending on version; accept both.
    try:
        return opencc.OpenCC("t2s")
    except Exception:
        return opencc.OpenCC("t2s.json")


def to_simplified(text: str) -> str:
    """Traditional → Simplified; text already Simplified (or Latin) passes through unchanged."""
    return str(_converter().convert(text)) if text else text
