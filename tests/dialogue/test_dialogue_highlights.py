"""dialogue/highlights.py: results with numbers, requirement technologies and follow-up triggers become highlights
with a time inside their turn and a verbatim quote, in English and Chinese, spoken or typed.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from services_testkit import unavailable

from dialogue.highlights import MAX_QUOTE, Highlight, find_highlights, technology_terms
from dialogue.plan import InterviewPlan, Requisition, build_plan
from dialogue.session import QuestionKind, Turn

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "interviews"


@cache
def manifest(name: str) -> dict[str, Any]:
    path = FIXTURES / name / "manifest.json"
    if not path.exists():
        unavailable(f"fixture {path} is missing; the interview fixtures live in /work/shared/fixtures")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def clip(name: str, clip_id: str) -> str:
    return next(c["text"] for c in manifest(name)["clips"] if c["id"] == clip_id)


def fixture_plan(name: str) -> InterviewPlan:
    job = manifest(name)["scenario"]["job"]
    return build_plan(Requisition(job["title"], job["description"], tuple(job["requirements"]), job["language"]))


def plan_for(*requirements: str, language: str = "en") -> InterviewPlan:
    return build_plan(Requisition("Backend Engineer", "", requirements, language))  # type: ignore[arg-type]


def main_turn(seq: int, qid: str, answer: str, start: float | None, end: float | None) -> Turn:
    return Turn(seq, qid, qid, QuestionKind.MAIN, f"Question {qid}?", answer, start, end)


def follow_up_turn(seq: int, main_qid: str, question: str, answer: str, start: float | None, end: float | None) -> Turn:
    return Turn(seq, f"{main_qid}.f1", main_qid, QuestionKind.FOLLOW_UP, question, answer, start, end)


def en_interview() -> list[Turn]:
    """The backend_en fixture as a spoken interview: a strong answer, its follow-up, a weak one, a typed one."""
    return [
        main_turn(1, "q1", clip("backend_en", "q1_strong"), 3.0, 26.8),
        follow_up_turn(2, "q1", "What was the measurable result?", clip("backend_en", "followup_1"), 30.0, 36.1),
        main_turn(3, "q2", clip("backend_en", "q2_weak"), 40.0, 45.7),
        main_turn(4, "q3", clip("backend_en", "q3_strong"), 50.0, 69.1),
        Turn(
            5, "closing", "closing", QuestionKind.CLOSING, "Any questions?", clip("backend_en", "closing_1"), 72, 75.6
        ),
    ]


def zh_interview() -> list[Turn]:
    return [
        main_turn(1, "q1", clip("backend_zh", "zh_q1_strong"), 2.0, 17.0),
        follow_up_turn(2, "q1", "结果如何？", clip("backend_zh", "zh_followup_1"), 20.0, 25.05),
        main_turn(3, "q2", clip("backend_zh", "zh_q2_weak"), 30.0, 34.85),
    ]


def of_kind(highlights: list[Highlight], kind: str) -> list[Highlight]:
    return [h for h in highlights if h.kind == kind]


# -- what becomes a highlight -----------------------------------------------------------------------------


def test_concrete_result_with_numbers_is_a_result_highlight_timed_by_its_place_in_the_answer() -> None:
    turn = main_turn(1, "q1", clip("backend_en", "q1_strong"), 3.0, 26.8)
    sentence = (
        "As a result, we cut deployment time from two hours to ten minutes and had no data loss during the migration."
    )

    results = of_kind(find_highlights(fixture_plan("backend_en"), [turn]), "result")

    assert [h.quote for h in results] == [sentence]
    (h,) = results
    assert (h.question_id, h.turn_seq) == ("q1", 1)
    offset, n, span = turn.answer.index(sentence), len(turn.answer), 26.8 - 3.0
    assert h.start == pytest.approx(3.0 + span * offset / n, abs=1e-3)
    assert h.end == pytest.approx(3.0 + span * (offset + len(sentence)) / n, abs=1e-3)
    assert h.end == pytest.approx(26.8)  # the last sentence ends with the turn


def test_result_with_digits_and_percent_is_a_highlight_but_numbers_without_a_result_cue_are_not() -> None:
    answer = "I worked there for 3 years with 5 colleagues. We reduced p99 latency by 40% in one quarter."
    highlights = find_highlights(plan_for("Go"), [main_turn(1, "q1", answer, 0.0, 10.0)])

    assert [(h.kind, h.quote) for h in highlights] == [("result", "We reduced p99 latency by 40% in one quarter.")]


def test_named_technology_from_the_requirements_is_a_technology_highlight_once_per_turn() -> None:
    answer = "We moved billing to microservices last year. Each of the microservices owns its data."
    highlights = find_highlights(fixture_plan("backend_en"), [main_turn(1, "q1", answer, 0.0, 8.0)])

    tech = of_kind(highlights, "technology")
    assert [(h.detail, h.quote) for h in tech] == [("microservices", "We moved billing to microservices last year.")]
    assert tech[0].start == 0.0


def test_technology_matches_whole_words_case_insensitively_and_ignores_generic_requirement_words() -> None:
    plan = plan_for("Java", "Experience with PostgreSQL databases")
    assert set(technology_terms(plan.requirements)) == {"Java", "PostgreSQL"}

    turns = [
        main_turn(1, "q1", "I mostly wrote JavaScript for the frontend.", 0.0, 4.0),
        main_turn(2, "q2", "Our data lived in postgresql on three replicas.", 5.0, 9.0),
        main_turn(3, "q3", "I have experience with databases.", 10.0, 12.0),
    ]
    tech = of_kind(find_highlights(plan, turns), "technology")

    assert [(h.turn_seq, h.detail) for h in tech] == [(2, "PostgreSQL")]


def test_answer_that_led_to_a_follow_up_is_highlighted_with_the_follow_up_question() -> None:
    turns = en_interview()
    follow_ups = of_kind(find_highlights(fixture_plan("backend_en"), turns), "follow_up")

    assert len(follow_ups) == 1
    (h,) = follow_ups
    assert (h.question_id, h.turn_seq) == ("q1", 1)
    assert h.detail == "What was the measurable result?"  # the follow-up it led to, for the page to frame
    assert (h.start, h.end) == (turns[0].start, turns[0].end)
    # The whole answer is quoted, cut to MAX_QUOTE with an ellipsis when longer.
    assert len(turns[0].answer) > MAX_QUOTE
    assert len(h.quote) <= MAX_QUOTE and h.quote.endswith("…")
    assert turns[0].answer.startswith(h.quote[:-1])


def test_answer_followed_by_the_next_main_question_is_not_a_follow_up_highlight() -> None:
    turns = [
        main_turn(1, "q1", "I split the monolith into services.", 0.0, 4.0),
        main_turn(2, "q2", "I profiled the service first.", 5.0, 8.0),
    ]
    assert of_kind(find_highlights(plan_for("Kafka"), turns), "follow_up") == []


def test_vague_answers_and_the_closing_answer_give_no_highlights() -> None:
    plan = fixture_plan("backend_en")
    turns = [
        main_turn(1, "q2", clip("backend_en", "q2_weak"), 0.0, 5.7),
        main_turn(2, "q3", "It was fine. There were some problems but we fixed them.", 6.0, 9.0),
        main_turn(3, "q4", "   ", 10.0, 11.0),
        # Numbers, a result cue and a technology, but in the closing answer: not a moment about the job.
        Turn(
            4,
            "closing",
            "closing",
            QuestionKind.CLOSING,
            "Any questions?",
            "We cut costs 50% with microservices?",
            12,
            14,
        ),
    ]
    assert find_highlights(plan, turns) == []


def test_chinese_result_with_chinese_numerals_is_a_highlight() -> None:
    turns = zh_interview()
    highlights = find_highlights(fixture_plan("backend_zh"), turns)

    results = of_kind(highlights, "result")
    assert ("我们引入了消息队列和幂等处理，最后部署时间从两个小时缩短到十分钟。", "缩短", 1) in [
        (h.quote, h.detail, h.turn_seq) for h in results
    ]
    assert of_kind(highlights, "follow_up")[0].detail == "结果如何？"
    assert [h for h in highlights if h.turn_seq == 3] == [], "the vague Chinese answer gives none"


def test_english_requirement_term_in_a_spaced_chinese_answer_is_a_technology() -> None:
    answer = "我们用 Kafka 做了订单事件。后来延迟降低了两倍。"
    highlights = find_highlights(plan_for("Kafka", language="zh"), [main_turn(1, "q1", answer, 0.0, 6.0)])

    assert [(h.kind, h.detail, h.quote) for h in highlights] == [
        ("technology", "Kafka", "我们用 Kafka 做了订单事件。"),
        ("result", "降", "后来延迟降低了两倍。"),
    ]


# -- times and quotes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("interview", [en_interview, zh_interview], ids=["en", "zh"])
def test_every_highlight_lies_inside_its_turn_and_quotes_the_candidate_verbatim(interview: Any) -> None:
    turns: list[Turn] = interview()
    plan = fixture_plan("backend_en" if interview is en_interview else "backend_zh")
    by_seq = {t.seq: t for t in turns}

    highlights = find_highlights(plan, turns)

    assert {h.kind for h in highlights} >= {"result", "follow_up"}
    for h in highlights:
        turn = by_seq[h.turn_seq]
        assert h.question_id == turn.question_id
        assert turn.start is not None and turn.end is not None
        assert h.start is not None and h.end is not None
        assert turn.start <= h.start <= h.end <= turn.end, h
        quote = h.quote[:-1] if h.quote.endswith("…") and len(h.quote) == MAX_QUOTE else h.quote
        assert quote and quote in turn.answer, h
        assert quote == quote.strip()


def test_highlights_come_in_the_order_they_happened() -> None:
    turns = en_interview()
    highlights = find_highlights(fixture_plan("backend_en"), list(reversed(turns)))

    starts = [h.start for h in highlights]
    assert all(s is not None for s in starts)
    assert starts == sorted(starts)  # type: ignore[type-var]
    assert highlights == find_highlights(fixture_plan("backend_en"), turns)


def test_typed_answers_have_no_time_and_come_after_the_spoken_ones() -> None:
    typed = main_turn(1, "q1", "As a result we cut costs by 30% with microservices.", None, None)
    spoken = main_turn(2, "q2", "We shipped 2 releases a week.", 40.0, 44.0)

    highlights = find_highlights(fixture_plan("backend_en"), [typed, spoken])

    assert [(h.turn_seq, h.kind) for h in highlights] == [(2, "result"), (1, "result"), (1, "technology")]
    assert all(h.start is None and h.end is None for h in highlights if h.turn_seq == 1)
    assert all(h.quote == typed.answer for h in highlights if h.turn_seq == 1)


def test_typed_answer_that_led_to_a_follow_up_is_highlighted_without_a_time() -> None:
    turns = [
        main_turn(1, "q1", "I worked on payments.", None, None),
        follow_up_turn(2, "q1", "What did you do there?", "I built the refund flow.", None, None),
    ]
    (h,) = find_highlights(plan_for("Kafka"), turns)
    assert (h.kind, h.start, h.end, h.quote) == ("follow_up", None, None, "I worked on payments.")


# -- regressions ------------------------------------------------------------------------------------------


def test_multi_word_technology_is_one_highlight_named_as_in_the_requirements() -> None:
    answer = "We split the monolith into Spring Boot services."
    highlights = find_highlights(plan_for("Spring Boot"), [main_turn(1, "q1", answer, 0.0, 4.0)])

    assert [h.detail for h in of_kind(highlights, "technology")] == ["Spring Boot"]


def test_chinese_requirement_term_inside_a_chinese_sentence_is_a_technology() -> None:
    answer = "我们把支付系统拆分成微服务。"
    highlights = find_highlights(plan_for("微服务", language="zh"), [main_turn(1, "q1", answer, 0.0, 4.0)])

    assert [(h.kind, h.detail) for h in highlights] == [("technology", "微服务")]


def test_latin_technology_written_without_spaces_in_chinese_is_a_technology() -> None:
    answer = "我们用Spring Boot写了十个服务。"
    highlights = find_highlights(fixture_plan("backend_zh"), [main_turn(1, "q1", answer, 0.0, 4.0)])

    assert of_kind(highlights, "technology") != []


def test_chinese_fixture_answer_about_microservices_gets_a_technology_highlight() -> None:
    turns = zh_interview()
    highlights = find_highlights(fixture_plan("backend_zh"), turns)

    assert any(h.kind == "technology" and h.turn_seq == 1 for h in highlights)


def test_chinese_result_of_half_is_a_highlight_like_the_english_one() -> None:
    turns = zh_interview()
    results = of_kind(find_highlights(fixture_plan("backend_zh"), turns), "result")

    assert 2 in [h.turn_seq for h in results]


def test_decimal_number_does_not_cut_the_quoted_result() -> None:
    answer = "We cut p99 latency from 2.5 seconds to 0.8 seconds."
    results = of_kind(find_highlights(plan_for("Kafka"), [main_turn(1, "q1", answer, 0.0, 5.0)]), "result")

    assert [h.quote for h in results] == [answer]


def test_technology_with_a_dot_in_its_name_is_found() -> None:
    answer = "I built the payments API in Node.js last year."
    highlights = find_highlights(plan_for("Node.js"), [main_turn(1, "q1", answer, 0.0, 4.0)])

    assert [h.detail for h in of_kind(highlights, "technology")] == ["Node.js"]
