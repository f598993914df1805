"""The session state machine: question order, follow-ups, rephrase and repeat, closing, ending early."""

from __future__ import annotations

import pytest

from dialogue.follow_up import FollowUpPolicy, FollowUpReason
from dialogue.plan import QuestionSpec, Requisition, build_plan
from dialogue.session import (
    AnswerFinished,
    AnswerRevised,
    Ask,
    AskFollowUp,
    AskRephrased,
    CandidateEnded,
    Finish,
    Ignore,
    InterviewSession,
    Phase,
    Question,
    QuestionKind,
    RepeatAsked,
    RephraseAsked,
    Replayed,
    Revised,
    SessionFinished,
)

FULL = (
    "At my last company I led a team of four engineers that split our monolithic payment system into Spring Boot "
    "microservices. We introduced the saga pattern with Kafka events. As a result, we cut deployment time from two "
    "hours to ten minutes."
)
THIN = "It was fine."


@pytest.fixture
def session() -> InterviewSession:
    plan = build_plan(
        Requisition(
            "Backend Engineer", "", ("microservices",), "en",
            questions=(QuestionSpec("Tell me about a microservices project you worked on."), QuestionSpec("Why us?")),
        )
    )
    return InterviewSession(plan, FollowUpPolicy(max_per_question=1))


def test_main_questions_in_order_then_closing_then_finish(session: InterviewSession) -> None:
    first = session.start()
    assert (first.question.kind, first.question.index, first.question.total) == (QuestionKind.MAIN, 1, 2)
    second = session.handle(AnswerFinished(FULL))
    assert isinstance(second, Ask) and second.question.index == 2
    closing = session.handle(AnswerFinished(FULL))
    assert isinstance(closing, Ask) and closing.question.kind is QuestionKind.CLOSING
    assert session.phase is Phase.CLOSING
    done = session.handle(AnswerFinished("No, thank you."))
    assert done == Finish("completed") and session.phase is Phase.FINISHED
    assert [t.main_question_id for t in session.turns] == ["q1", "q2", "closing"]
    with pytest.raises(SessionFinished):
        session.handle(AnswerFinished("more"))


def test_a_thin_answer_gets_one_follow_up_then_moves_on(session: InterviewSession) -> None:
    session.start()
    action = session.handle(AnswerFinished(THIN))
    assert isinstance(action, AskFollowUp) and action.reason is FollowUpReason.TOO_SHORT
    assert action.question.question_id == "q1.f1" and action.question.index == 1
    nxt = session.handle(AnswerFinished(THIN))
    assert isinstance(nxt, Ask) and nxt.question.index == 2
    assert [t.question_kind for t in session.turns] == [QuestionKind.MAIN, QuestionKind.FOLLOW_UP]


def test_repeat_says_the_current_question_word_for_word(session: InterviewSession) -> None:
    first = session.start()
    again = session.handle(RepeatAsked())
    assert isinstance(again, Ask) and again.question.kind is QuestionKind.REPEAT
    assert again.question.text == first.question.text
    assert session.turns == []


def test_rephrase_keeps_the_question_and_offers_a_template(session: InterviewSession) -> None:
    first = session.start()
    action = session.handle(RephraseAsked())
    assert isinstance(action, AskRephrased) and action.original == first.question.text
    assert action.question.kind is QuestionKind.REPHRASE and action.question.question_id == "q1"
    second = session.handle(RephraseAsked())
    assert isinstance(second, AskRephrased) and second.original == first.question.text


def test_spoken_requests_are_not_recorded_as_answers(session: InterviewSession) -> None:
    session.start()
    assert isinstance(session.handle(AnswerFinished("Sorry, could you rephrase that?")), AskRephrased)
    assert isinstance(session.handle(AnswerFinished("Could you repeat the question?")), Ask)
    assert session.turns == []


def test_a_repeat_after_a_model_worded_follow_up_repeats_that_wording(session: InterviewSession) -> None:
    session.start()
    action = session.handle(AnswerFinished(THIN))
    assert isinstance(action, AskFollowUp)
    from dataclasses import replace

    session.asked(replace(action.question, text="What was the outcome of that project?"))
    again = session.handle(RepeatAsked())
    assert isinstance(again, Ask) and again.question.text == "What was the outcome of that project?"


def test_empty_answers_are_ignored(session: InterviewSession) -> None:
    session.start()
    assert isinstance(session.handle(AnswerFinished("  ")), Ignore)


def test_the_candidate_can_end_at_any_time(session: InterviewSession) -> None:
    session.start()
    session.handle(AnswerFinished(FULL))
    assert session.handle(CandidateEnded()) == Finish("candidate_ended")
    assert len(session.turns) == 1


def test_events_before_start_are_refused(session: InterviewSession) -> None:
    with pytest.raises(RuntimeError, match="start"):
        session.handle(AnswerFinished(FULL))


def test_an_answer_after_a_repeat_is_recorded_against_the_original_question(session: InterviewSession) -> None:
    session.start()
    session.handle(RepeatAsked())
    session.handle(RephraseAsked())
    session.handle(AnswerFinished(FULL))
    assert session.turns[0].question_kind is QuestionKind.MAIN and session.turns[0].question_id == "q1"


def test_replaying_stored_turns_resumes_at_the_waiting_question_with_the_stored_wording(
    session: InterviewSession,
) -> None:
    original = InterviewSession(session.plan, session.policy)
    original.start()
    original.handle(AnswerFinished(THIN))  # a follow-up is asked: the model may have worded it
    original.asked(Question("q1.f1", "In your own words: what did you do?", QuestionKind.FOLLOW_UP, 1, 2))
    original.handle(AnswerFinished(FULL))
    stored = list(original.turns)

    replayed = session.replay(stored)

    assert replayed.finished is None and replayed.question is not None
    assert (replayed.question.question_id, replayed.question.index) == ("q2", 2)
    assert session.turns == stored and session.turns[1].question_text == "In your own words: what did you do?"
    session.handle(AnswerFinished(FULL))
    assert [t.seq for t in session.turns] == [1, 2, 3], "the next turn's seq goes on from the stored ones"


def test_replaying_every_answer_says_the_session_had_finished(session: InterviewSession) -> None:
    original = InterviewSession(session.plan, session.policy)
    original.start()
    for answer in (FULL, FULL, "No, thank you."):
        original.handle(AnswerFinished(answer))

    replayed = session.replay(list(original.turns))

    assert replayed == Replayed(None, "completed") and session.phase is Phase.FINISHED


def test_a_revision_replaces_the_answer_kept_and_the_rules_keep_the_words_they_heard(session: InterviewSession) -> None:
    session = InterviewSession(session.plan, FollowUpPolicy(max_per_question=2))
    session.start()
    follow_up = session.handle(AnswerFinished(THIN, 1.0, 2.5))
    assert isinstance(follow_up, AskFollowUp)

    revised = session.handle(AnswerRevised(FULL, 1.0, 2.5))

    assert isinstance(revised, Revised) and revised.changed and revised.turn == session.turns[0]
    assert (session.turns[0].answer, session.turns[0].heard, session.turns[0].decided_on) == (FULL, THIN, THIN)
    assert session.current is not None and session.current.question_id == "q1.f1", "nothing new is asked"
    # The follow-up's answer is weighed with the first answer as heard (thin twice: a second follow-up), the
    # decision a replay of the stored turns reaches; with the revised words it would have moved on to q2.
    again = session.handle(AnswerFinished(THIN, 3.0, 4.0))
    assert isinstance(again, AskFollowUp) and again.question.question_id == "q1.f2"


def test_a_revision_for_no_stored_answer_or_with_the_same_words_changes_nothing(session: InterviewSession) -> None:
    session.start()
    session.handle(AnswerFinished(FULL, 1.0, 9.0))
    before = list(session.turns)

    assert isinstance(session.handle(AnswerRevised(THIN, 20.0, 21.0)), Ignore)  # e.g. a request to rephrase
    assert session.handle(AnswerRevised(FULL, 1.0, 9.0)) == Revised(before[0], changed=False)
    assert session.handle(AnswerRevised("  ", 1.0, 9.0)) == Revised(before[0], changed=False)
    assert session.turns == before and session.turns[0].heard is None


def test_replaying_a_revised_answer_decides_on_the_words_heard_live(session: InterviewSession) -> None:
    original = InterviewSession(session.plan, session.policy)
    original.start()
    original.handle(AnswerFinished(THIN, 1.0, 2.0))  # thin as heard: a follow-up
    original.handle(AnswerRevised(FULL, 1.0, 2.0))  # the second pass heard a full answer
    original.handle(AnswerFinished(THIN, 3.0, 4.0))
    stored = list(original.turns)

    replayed = session.replay(stored)

    assert replayed.question is not None and replayed.question.question_id == "q2"
    assert [t.question_id for t in session.turns] == ["q1", "q1.f1"] and session.turns[0].answer == FULL
