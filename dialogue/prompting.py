"""Loads the prompt templates in prompts/<language>/<task>.txt and fills them into chat messages.

A template has `### system` and `### user` sections and `$name` placeholders (string.Template).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from string import Template
from typing import cast

from dialogue.language import Language
from dialogue.llm.base import ChatMessage, Role

_SECTION = re.compile(r"^### (system|user|assistant)\s*$", re.MULTILINE)


class PromptError(LookupError):
    """A template is missing or malformed."""


@cache
def _template(task: str, language: Language) -> tuple[tuple[Role, Template], ...]:
    try:
        text = resources.files("prompts").joinpath(language, f"{task}.txt").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(f"no prompt template prompts/{language}/{task}.txt") from None
    parts = _SECTION.split(text)
    if len(parts) < 3 or parts[0].strip():
        raise PromptError(f"prompts/{language}/{task}.txt must start with a '### system' or '### user' line")
    return tuple(
        (cast(Role, role), Template(body.strip())) for role, body in zip(parts[1::2], parts[2::2], strict=True)
    )


def render(task: str, language: Language, **values: str) -> list[ChatMessage]:
    """The chat messages for `task`; a placeholder left unfilled is an error, not a silent '$name'."""
    try:
        return [ChatMessage(role=role, content=t.substitute(values)) for role, t in _template(task, language)]
    except KeyError as missing:
        raise PromptError(f"prompt {language}/{task} needs a value for {missing}") from None
