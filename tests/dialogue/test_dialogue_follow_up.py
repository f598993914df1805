"""The follow-up rules: short answers and missing STAR elements, capped per question."""

from __future__ import annotations

import pytest

from dialogue.answer_features import star_elements
from dialogue.follow_up import FollowUpPolicy, FollowUpReason, is_behavioural

BEHAVIOURAL = "Describe a time you had to deliver under heavy pressure. What did you do?"
STRONG = (
    "Two days before a major product launch, our checkout service started failing under load tests. My task was to "
    "find the cause and fix it before release. I profiled the service, found a connection pool that was far too "
    "small, and added caching for the price lookups. We launched on time and the service handled three times the "
    "expected traffic."
)


def test_a_complete_star_answer_needs_no_follow_up() -> None:
    assert FollowUpPolicy().reason(BEHAVIOURAL, STRONG, "en", 0) is None


def test_a_short_answer_gets_a_follow_up() -> None:
    weak = "I usually just work harder when there is pressure. I don't really remember a specific time."
    assert FollowUpPolicy().reason(BEHAVIOURAL, weak, "en", 0) is FollowUpReason.TOO_SHORT


def test_a_long_answer_without_a_result_asks_for_the_result() -> None:
    no_result = (
        "At my last company our team had to migrate the billing system while customers kept using it every day. "
        "I designed the migration plan, wrote the scripts for the data copy and organised the rehearsals with the "
        "operations team over several weekends."
    )
    assert star_elements(no_result, "en") == {"situation", "action"}
    assert FollowUpPolicy().reason(BEHAVIOURAL, no_result, "en", 0) is FollowUpReason.MISSING_RESULT


def test_no_more_than_the_configured_number_of_follow_ups() -> None:
    policy = FollowUpPolicy(max_per_question=1)
    assert policy.reason(BEHAVIOURAL, "It went fine.", "en", 1) is None
    assert FollowUpPolicy(max_per_question=0).reason(BEHAVIOURAL, "It went fine.", "en", 0) is None


def test_a_how_do_you_question_does_not_demand_a_story() -> None:
    question = "How do you make sure your services stay reliable in production?"
    answer = (
        "I start with clear service level objectives, then add health checks, structured logs and metrics in "
        "Prometheus. Every change goes through automated tests and a canary release, and we run regular drills."
    )
    assert not is_behavioural(question)
    assert FollowUpPolicy().reason(question, answer, "en", 0) is None


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("压力大的时候我就多加班，具体的例子我想不起来了。", FollowUpReason.TOO_SHORT),
        (
            "在上一家公司，我带领四个人的团队把支付系统拆分成微服务。最大的挑战是保证跨服务的数据一致性。"
            "我们引入了消息队列和幂等处理，最后部署时间从两个小时缩短到十分钟。",
            None,
        ),
    ],
)
def test_chinese_answers(answer: str, reason: FollowUpReason | None) -> None:
    assert FollowUpPolicy().reason("请描述一次你在很大压力下按时交付的经历。", answer, "zh", 0) is reason
