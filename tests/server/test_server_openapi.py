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
from schemathesis.checks import allow_header_conformance, positive_data_acceptance

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
    case.call_and_validate(base_url=base_url, headers={"Authorization": f"Bearer {KEY}"}, excluded_checks=excluded)
