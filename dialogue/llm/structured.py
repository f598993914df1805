"""Structured answers: a JSON-schema-constrained call, parsed, cleaned and validated, or None to fall back.

Also the schema pieces that survive llama.cpp's schema-to-grammar conversion (enum scores, capped strings).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from dialogue.llm.base import ChatMessage, LLMBackend, LLMError

log = logging.getLogger(__name__)

T = TypeVar("T")

# llama-cpp-python's grammar lets any character but `"` and `\` into a string, control characters included.
# Outside strings they would break the parse; inside, they are noise no report should show. \n and \t are kept
# in strings (a rationale may have lines); everything else in C0 and DEL goes.
_CONTROL_OUTSIDE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_IN_STRING = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_DECODER = json.JSONDecoder(strict=False)


async def generate_structured(
    backend: LLMBackend,
    messages: Sequence[ChatMessage],
    schema: dict[str, Any],
    parse: Callable[[Any], T],
    *,
    max_tokens: int,
) -> T | None:
    """Ask for JSON under `schema`, then hand the decoded value to `parse` (the caller's validator).

    `parse` rejects by raising (any exception) or by returning None. Every failure — the call, the JSON, the
    validator — is logged with its reason (the model's text, which may quote the candidate, only at DEBUG) and yields
    None, so the caller falls back to its rule-based answer.
    """
    try:
        completion = await backend.complete(messages, max_tokens=max_tokens, json_schema=schema)
    except LLMError as exc:
        log.warning("structured call to %s failed: %s", backend.name, exc)
        return None
    try:
        value = parse_json_lenient(completion.text)
    except ValueError as exc:
        cut = completion.finish_reason == "length"
        why = " (cut off by max_tokens: raise it or cap the schema's maxLength)" if cut else ""
        text = completion.text[:200]
        # The model's text may quote the candidate (an answer, a résumé): it goes to DEBUG only.
        log.warning("%s returned no parseable JSON%s: %s", backend.name, why, type(exc).__name__)
        log.debug("%s's unparseable text: %r (%s)", backend.name, text, exc)
        return None
    try:
        result = parse(value)
    except Exception as exc:  # the validator is the caller's code: any way it rejects means "fall back"
        validator = getattr(parse, "__name__", "validator")
        log.warning("%s's answer rejected by %s: %s", backend.name, validator, type(exc).__name__)
        log.debug("%s's rejected value: %r (%s)", backend.name, value, exc)
        return None
    if result is None:
        validator = getattr(parse, "__name__", "validator")
        log.info("%s's answer rejected by %s", backend.name, validator)
        log.debug("%s's rejected value: %r", backend.name, value)
    return result


def parse_json_lenient(text: str) -> Any:
    """Decode the first JSON object or array in `text`, tolerating raw control characters and trailing text.

    Trailing text and a leading preamble happen when a server ignores the schema (a plain JSON mode or none at
    all). Raises ValueError when there is no JSON to decode.
    """
    cleaned = _CONTROL_OUTSIDE.sub("", text)
    starts = [i for i in (cleaned.find("{"), cleaned.find("[")) if i >= 0]
    if not starts:
        raise ValueError("no JSON object or array in the text")
    value, _end = _DECODER.raw_decode(cleaned, min(starts))
    return _clean_strings(value)


def _clean_strings(value: Any) -> Any:
    if isinstance(value, str):
        return _CONTROL_IN_STRING.sub("", value).strip()
    if isinstance(value, list):
        return [_clean_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean_strings(v) for k, v in value.items()}
    return value


def capped_string_schema(max_length: int, *, min_length: int = 1) -> dict[str, Any]:
    """A string the grammar must close within `max_length` characters.

    A small model can loop inside an open string until max_tokens cuts it off, leaving invalid JSON; with
    the cap the grammar forces the closing quote. Keep the sum of the caps well below the call's max_tokens.
    """
    return {"type": "string", "minLength": min_length, "maxLength": max_length}


def score_schema(low: int = 0, high: int = 10) -> dict[str, Any]:
    """An integer score from `low` to `high` as an enum (llama-cpp-python's grammar ignores min/max)."""
    return {"type": "integer", "enum": list(range(low, high + 1))}


def object_schema(properties: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An object with exactly these properties, all required, in this order (the grammar keeps the order)."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
