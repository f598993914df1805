"""The retry schedule, its jitter and the receiver's Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from hr.webhook_retry import JITTER, RETRY_AFTER_CAP, SCHEDULE, delay_before, retry_after

NOW = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)


def test_the_schedule_is_the_standard_webhooks_one() -> None:
    hours = [s / timedelta(hours=1) for s in SCHEDULE[4:]]
    assert SCHEDULE[:4] == (timedelta(0), timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30))
    assert hours == [2, 5, 10, 14, 20, 24]


def test_each_delay_stays_within_the_jitter_of_its_step_and_varies() -> None:
    rng = random.Random(3)
    for attempt, step in enumerate(SCHEDULE, start=1):
        delays = [delay_before(attempt, rng) for _ in range(50)]
        assert all(d is not None and step * (1 - JITTER) <= d <= step * (1 + JITTER) for d in delays)
        if step:
            assert len(set(delays)) > 1


def test_there_is_no_eleventh_attempt() -> None:
    assert delay_before(len(SCHEDULE) + 1, random.Random(0)) is None


def test_retry_after_is_a_minimum_and_capped_at_a_day() -> None:
    rng = random.Random(0)
    assert delay_before(2, rng, timedelta(minutes=3)) == timedelta(minutes=3)
    shorter_ask = delay_before(3, rng, timedelta(seconds=1))
    assert shorter_ask is not None and shorter_ask >= SCHEDULE[2] * (1 - JITTER)
    assert delay_before(2, rng, timedelta(days=30)) == RETRY_AFTER_CAP


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", timedelta(seconds=120)),
        (" 7 ", timedelta(seconds=7)),
        ("Sun, 06 Dec 2026 23:10:00 GMT", timedelta(minutes=10)),
        ("Sun, 06 Dec 2026 22:00:00 GMT", timedelta(0)),
        ("99999999999999999999", RETRY_AFTER_CAP),
        ("soon", None),
        ("-5", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header: str | None, expected: timedelta | None) -> None:
    assert retry_after(header, NOW) == expected
