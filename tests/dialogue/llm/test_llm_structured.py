"""Parsing and schema helpers of dialogue.llm.structured, on the outputs small models actually produce.

No model here: these are the byte-level cases (control characters, trailing text, cut-off JSON).
"""

from __future__ import annotations

import pytest

from dialogue.llm import capped_string_schema, object_schema, parse_json_lenient, score_schema


def test_raw_control_characters_inside_strings_are_accepted_and_removed() -> None:
    text = '{"comment": "good\x01 answer\x1b,\tclear\nand short\x7f", "score": 7}'
    assert parse_json_lenient(text) == {"comment": "good answer,\tclear\nand short", "score": 7}


def test_escaped_control_characters_are_removed_too() -> None:
    assert parse_json_lenient('{"c": "a\\u0000b\\u0007"}') == {"c": "ab"}


def test_strings_are_trimmed() -> None:
    assert parse_json_lenient('{"c": "  ok \\n"}') == {"c": "ok"}


def test_preamble_fences_and_trailing_text_are_skipped() -> None:
    text = 'Sure! Here is the JSON:\n```json\n{"score": 3, "tags": ["a"]}\n```\nHope it helps {'
    assert parse_json_lenient(text) == {"score": 3, "tags": ["a"]}


@pytest.mark.parametrize("text", ["", "no json here", '{"comment": "cut off by max_toke', '{"score": }'])
def test_no_json_or_broken_json_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_json_lenient(text)


def test_score_schema_is_an_enum_because_grammars_ignore_minimum_and_maximum() -> None:
    assert score_schema() == {"type": "integer", "enum": list(range(11))}
    assert score_schema(1, 5)["enum"] == [1, 2, 3, 4, 5]


def test_object_schema_requires_every_property_and_nothing_else() -> None:
    schema = object_schema({"score": score_schema(), "why": capped_string_schema(120)})
    assert schema["required"] == ["score", "why"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["why"] == {"type": "string", "minLength": 1, "maxLength": 120}
