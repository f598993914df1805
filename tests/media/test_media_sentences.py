"""Where sentences end: one rule for evidence quotes, highlights and end-of-turn, in English, Chinese and both."""

from __future__ import annotations

import pytest

from media.sentences import ends_sentence, sentence_spans, split_sentences


def test_decimal_numbers_and_dotted_names_stay_inside_their_sentence() -> None:
    text = "We cut p99 from 2.5 seconds to 0.8 seconds. We dropped Node.js! Then we used ASP.NET."
    assert split_sentences(text) == [
        "We cut p99 from 2.5 seconds to 0.8 seconds.",
        "We dropped Node.js!",
        "Then we used ASP.NET.",
    ]


def test_chinese_marks_end_a_sentence_without_a_following_space() -> None:
    assert split_sentences("在上一家公司。我们引入了队列！效果好吗？很好") == [
        "在上一家公司。",
        "我们引入了队列！",
        "效果好吗？",
        "很好",
    ]


def test_mixed_chinese_and_english_split_at_either_languages_marks() -> None:
    text = "我用Node.js写了服务。Then latency fell to 2.5 s.结果很好！Really? Yes"
    assert split_sentences(text) == [
        "我用Node.js写了服务。",
        "Then latency fell to 2.5 s.",
        "结果很好！",
        "Really?",
        "Yes",
    ]


def test_closing_quotes_and_brackets_belong_to_the_sentence_they_close() -> None:
    assert split_sentences('He said "ship it." We shipped (on time.) 他说：“好。”然后走了') == [
        'He said "ship it."',
        "We shipped (on time.)",
        "他说：“好。”",
        "然后走了",
    ]


def test_marks_inside_a_token_do_not_end_a_sentence() -> None:
    assert split_sentences("See example.com/a?b=1 and v1.2.3, e.g., the patch.") == [
        "See example.com/a?b=1 and v1.2.3, e.g., the patch."
    ]


def test_spans_are_verbatim_slices_of_the_text_at_their_offsets() -> None:
    text = "  First one.   Second 2.5!\n第三。 "
    spans = sentence_spans(text)
    assert [s for _, s in spans] == ["First one.", "Second 2.5!", "第三。"]
    assert all(text[offset : offset + len(s)] == s for offset, s in spans)


def test_empty_and_blank_text_has_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences("  \n ") == []


@pytest.mark.parametrize(
    ("text", "ends"),
    [
        ("I think so.", True),
        ("I think so. ", True),
        ("Did it work?!", True),
        ('He said "done."', True),
        ("没有了，谢谢。", True),
        ("他说：“好。”", True),
        ("We moved to Node.js", False),
        ("latency was 2.5", False),
        ("我们先做压测，然后", False),
        ("", False),
    ],
)
def test_ends_sentence_agrees_with_the_splitter(text: str, ends: bool) -> None:
    assert ends_sentence(text) is ends
    if text.strip():
        last = split_sentences(text)[-1]
        assert ends_sentence(last) is ends  # the last sentence closes exactly when the text does
