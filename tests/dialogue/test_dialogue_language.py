"""How text is split into meaning units, in English and Chinese."""

from __future__ import annotations

from dialogue.language import content_units, length_units


def test_english_units_drop_stop_words_and_keep_tech_spellings() -> None:
    assert content_units("Tell me about the C++ and Node.js services", "en") == {"c++", "node.js", "services"}


def test_chinese_units_are_character_bigrams_and_length_counts_characters() -> None:
    assert {"微服", "服务"} <= content_units("微服务", "zh")
    assert length_units("我们用Kafka", "zh") == 3 + 2  # a Latin word counts as two characters
