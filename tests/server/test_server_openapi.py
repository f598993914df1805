"""The OpenAPI document is what the server does: schemathesis generates requests from it (valid and not) against
the real app on a loopback port and checks every answer (no server errors, documented status codes, bodies and
content types as declared, valid data accepted and invalid data refused), a bounded number of examples each.

The server runs in a thread of its own: schemathesis calls it synchronously. It loads no models (the routes under
test are REST; scoring on request has none here and says so), so the run is quick.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import allow_header_conformance, negative_data_rejection, positive_data_acceptance

from server.app import create_app
from server.runtime import Runtime
from server.settings import Settings

KEY = "openapi-test-key"
# Operations whose bodies have rules no JSON schema can state, so a schema-valid body may still be refused with a
# 400 naming the rule: "every schema-valid body is accepted" cannot hold for them (every other check still does).
BEYOND_THE_SCHEMA = {
    "POST /v1/jobs": "dimension weights sum to 1, each question's dimension is one of the dimensions",
    "PUT /v1/jobs/{job_id}/plan": "the same plan rules as POST /v1/jobs",
    "POST /v1/candidates": "a résumé is plain text, not encoded data",
    "POST /v1/interviews": "the job and the candidate exist",
    "POST /v1/webhooks/endpoints": "the URL resolves to an address webhooks may reach, the event types are known",
    "POST /v1/outcomes": "the interview exists",
    "POST /v1/outcomes.csv": "the body is CSV with the four columns, each interview exists",
    "GET /v1/audits/bias": "from is not after to",
    "GET /v1/audit": "from and to are real days, or moments with their UTC offset, and from is before to",
    "GET /v1/jobs/{job_id}/questions/analytics": "from is not after to",
    "POST /v1/jobs/{job_id}/weights/approve": "the approver is named, the weights are the current proposal's",
    "POST /v1/invitations": "the job and the candidates exist, exactly one of candidate_id and candidate_ids",
    "POST /v1/users": "each job id names a job, the e-mail is not another user's",
    "PATCH /v1/users/{user_id}": "the user exists, each job id names a job",
    "POST /v1/users/{user_id}/keys": "the user exists, expires_at is in the future",
    # The bodies below refuse unknown fields (a typo is named, not ignored), which the schema does not state.
    "PUT /v1/jobs/{job_id}/reviewers": "the job exists, each e-mail is an address, none listed twice",
    "POST /v1/reviews/{review_id}/scorecard": "the review exists, ratings are 1-4 for the report's dimensions, once",
    "POST /v1/interviews/{interview_id}/recourse": "the candidate's token, a report exists, one request per interview",
    "POST /v1/recourse/{request_id}/answer": "the request exists and is unanswered, the answer is not blank",
    "POST /v1/interviews/{interview_id}/shares": "the interview exists",
    "POST /v1/shares/{share_id}/scorecard": "the link's token, open; the same rules as a reviewer's scorecard",
    "POST /v1/offers/{offer_id}/approve": "the suggestion exists and is undecided, the decider is named (not blank)",
    "POST /v1/offers/{offer_id}/reject": "the suggestion exists and is undecided, the decider is named (not blank)",
    "PUT /v1/courses": "the body is a CSV or JSON catalogue whose every course is valid, no course id twice",
    "PUT /v1/jobs/{job_id}/competencies": "the job exists, the dimensions are its plan's, the catalogue trains each id",
    "POST /v1/interviews/{interview_id}/training": "the interview exists, its candidate is a hire with a report",
    "PUT /v1/jobs/{job_id}/availability": "the job exists, the zone is IANA's, each window is a time of day and not "
    "empty, the deadline is ahead",
    "POST /v1/interviews/{interview_id}/booking/hold": "the candidate's token; the start is a slot offered now, free",
    "POST /v1/interviews/{interview_id}/booking": "the candidate's token; the start is a slot offered now, free",
    "PUT /v1/interviews/{interview_id}/booking": "the candidate's token, a confirmed booking; the start is offered",
    "POST /v1/interviews/{interview_id}/booking/cancel": "the candidate's token, a confirmed booking",
    "POST /v1/interviews/{interview_id}/booking/start": "the candidate's token, the any-time-before mode, a free seat",
}
# Not checked: the `Allow` header of OPTIONS, which Litestar 2 fills with the first handler's methods only when a
# path has several (litestar-org/litestar#4169, fixed in Litestar 3); 405 answers carry the right one.
EXAMPLES = 25  # per operation: 18 operations in about half a minute on two busy cores


@pytest.fixture(scope="module")
def base_url(free_port: Any) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="shanmian-openapi-") as data:
        config = _settings(port=free_port(), data_dir=Path(data))
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(config, Runtime(config)),
                host=config.host,
                port=config.port,
                log_level="warning",
                lifespan="on",
            )
        )
        thread = threading.Thread(target=server.run, name="openapi-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield f"http://{config.host}:{config.port}"
        server.should_exit = True
        thread.join(timeout=15)


def _settings(**overrides: Any) -> Settings:
    return Settings.from_env(
        {},
        api_key=KEY,
        voice=False,
        llm_backend="none",
        score_backend="none",
        plan_model="none",
        # Generated traffic comes from one address far faster than any client: the limit is tested elsewhere.
        rate_limit_per_minute=1_000_000,
        **overrides,
    )


# Litestar converts request bodies in msgspec's lax mode, so a boolean field also takes 0/1 and "true"/"false"; the
# document says boolean. Known and left (a framework setting for every route): these bodies have boolean fields.
LAX_BOOLEANS = {"POST /v1/users", "PATCH /v1/users/{user_id}", "PUT /v1/jobs/{job_id}/reviewers"}


# The document the app serves at /schema/openapi.json, taken from the app itself at collection time (the server
# starts later, in a fixture); the requests go to the running server.
schema = schemathesis.openapi.from_dict(create_app(_settings()).openapi_schema.to_schema())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis folder in the checkout; each run draws afresh
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_the_server_does_what_its_openapi_document_says(case: Any, base_url: str) -> None:
    excluded = [allow_header_conformance]
    if case.operation.label in BEYOND_THE_SCHEMA:
        excluded.append(positive_data_acceptance)
    if case.operation.label in LAX_BOOLEANS:
        excluded.append(negative_data_rejection)
    case.call_and_validate(base_url=base_url, headers={"Authorization": f"Bearer {KEY}"}, excluded_checks=excluded)
