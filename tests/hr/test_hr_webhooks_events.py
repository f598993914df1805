"""Event payloads, their JSON Schemas and the message body: every event type validates against its own schema."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import jsonschema_rs
import pytest

from hr.webhook_events import (
    EVENT_TYPES,
    PAYLOADS,
    CandidateInvited,
    EventPayload,
    InterviewAbandoned,
    InterviewCancelled,
    InterviewCompleted,
    InterviewRescheduled,
    InterviewScheduled,
    InterviewStarted,
    OfferSuggested,
    PlanVersionCreated,
    ReportReady,
    ReviewRequested,
    ReviewSubmitted,
    TrainingRecommended,
    message_for,
)
from hr.webhook_schemas import SCHEMAS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
T = datetime(2026, 3, 8, 14, 30, tzinfo=timezone(timedelta(hours=8)))
SAMPLES: tuple[EventPayload, ...] = (
    CandidateInvited("inv_1", "job_1", "cand_1", "zh", T + timedelta(days=14)),
    InterviewScheduled("iv_1", "job_1", "cand_1", "bk_1", T, T + timedelta(minutes=30), "Asia/Shanghai"),
    InterviewRescheduled(
        "iv_1", "job_1", "cand_1", "bk_1", T, T + timedelta(minutes=30), "Asia/Shanghai", T - timedelta(days=1)
    ),
    InterviewCancelled("iv_1", "job_1", "cand_1", "bk_1", "candidate", None),
    InterviewStarted("iv_1", "job_1", "cand_1"),
    InterviewCompleted("iv_1", "job_1", "cand_1", 1712.5),
    InterviewAbandoned("iv_1", "job_1", "cand_1", 2),
    ReportReady("iv_1", "job_1", "cand_1", "https://hr.example/v1/interviews/iv_1/report"),
    ReviewRequested("rv_1", "iv_1", "job_1", "candidate", T + timedelta(days=7)),
    ReviewSubmitted("rv_1", "iv_1", "job_1", "user_7", "strong_yes"),
    PlanVersionCreated("plan_1", "job_1", 4, "user_7", "approved weight proposal wp_3"),
    OfferSuggested("of_1", "iv_1", "job_1", "cand_1", "Data engineer", "mid", "2026-03-22", "2026-04-22", T),
    TrainingRecommended("tr_1", "iv_1", "job_1", "cand_1", 2, 3, "https://hr.example/v1/training/tr_1"),
)


def test_the_event_types_are_the_eleven_the_workflow_issue_names_and_the_two_hand_offs() -> None:
    assert {
        "candidate.invited",
        "interview.scheduled",
        "interview.rescheduled",
        "interview.cancelled",
        "interview.started",
        "interview.completed",
        "interview.abandoned",
        "report.ready",
        "review.requested",
        "review.submitted",
        "plan.version_created",
        "offer.suggested",
        "training.recommended",
    } == EVENT_TYPES
    assert {type(s) for s in SAMPLES} == set(PAYLOADS) and set(SCHEMAS) == EVENT_TYPES


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.TYPE)
def test_each_message_body_validates_against_its_schema(sample: EventPayload) -> None:
    schema = SCHEMAS[sample.TYPE]
    jsonschema_rs.meta.validate(schema)
    body = json.loads(message_for(sample, T).body)

    jsonschema_rs.validator_for(schema, validate_formats=True).validate(body)
    assert body["type"] == sample.TYPE
    assert set(body["data"]) == {f.name for f in dataclasses.fields(sample)}
    assert set(schema["properties"]["data"]["required"]) == set(body["data"])


def test_a_body_missing_a_field_or_with_a_wrong_enum_fails_its_schema() -> None:
    validator = jsonschema_rs.validator_for(SCHEMAS["review.submitted"])
    body = json.loads(message_for(SAMPLES[9], T).body)
    body["data"]["recommendation"] = "maybe"
    assert not validator.is_valid(body)
    del body["data"]["reviewer_id"]
    body["data"]["recommendation"] = "yes"
    assert not validator.is_valid(body)


def test_times_are_sent_in_utc_with_a_z() -> None:
    body = json.loads(message_for(SAMPLES[1], T).body)
    assert body["timestamp"] == "2026-03-08T06:30:00Z"
    assert body["data"]["starts_at"] == "2026-03-08T06:30:00Z"


def test_a_naive_time_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="aware"):
        message_for(SAMPLES[0], datetime(2026, 3, 8, 14, 30))


def test_every_message_gets_its_own_id_and_chinese_stays_readable() -> None:
    sample = PlanVersionCreated("plan_1", "job_1", 2, "user_7", "提高沟通权重")
    first, second = message_for(sample, datetime.now(UTC)), message_for(sample, datetime.now(UTC))
    assert first.id != second.id and first.id.startswith("msg_")
    assert "提高沟通权重".encode() in first.body


def test_the_integrator_docs_describe_every_event_and_field() -> None:
    text = DOCS.read_text()
    for payload in PAYLOADS:
        section = re.search(rf"^### `{re.escape(payload.TYPE)}`\n(.*?)(?=^### |\Z)", text, re.M | re.S)
        assert section, f"docs/webhooks.md has no section for {payload.TYPE}"
        for f in dataclasses.fields(payload):
            assert f"`{f.name}`" in section.group(1), f"{payload.TYPE}.{f.name} is not in docs/webhooks.md"
