"""Webhooks against a real server and a real local receiver: endpoints over REST, a typed interview's events
verified with the `standardwebhooks` package, retries with the same id, 410, replay, rotation, refused targets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_testkit import REPORT_WAIT_S, Api, Stream, answer_for, interview_scenario
from standardwebhooks import Webhook
from webhook_receiver import Receiver

JOB = {"title": "Backend engineer", "questions": [{"text": "Tell me about a project you led."}]}


@pytest.fixture(scope="module")
async def server(server_factory: Any) -> Any:
    srv = await server_factory.start(webhook_allowed_targets="loopback")
    worker = srv.app.state.services.webhooks.worker
    worker.poll_s = 0.05
    worker.time_scale = 1e-4  # the day-long retry schedule in seconds: 5 h becomes 1.8 s
    return srv


@pytest.fixture
def hr(server: Any) -> Api:
    return Api(server.base, server.api_key)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


async def register(hr: Api, url: str, *types: str) -> dict[str, Any]:
    created = await hr.post("/v1/webhooks/endpoints", {"url": url, "event_types": list(types)})
    assert created.status_code == 201, created.text
    return created.json()


async def remove(hr: Api, endpoint_id: str) -> None:
    async with httpx.AsyncClient(base_url=hr.base) as c:
        gone = await c.delete(f"/v1/webhooks/endpoints/{endpoint_id}", headers={"Authorization": f"Bearer {hr.key}"})
    assert gone.status_code == 204, gone.text


async def new_job(hr: Api) -> str:
    """A ready job: its first plan version is a `plan.version_created` event, the cheapest one to cause."""
    job = await hr.post("/v1/jobs", JOB)
    assert job.status_code == 201, job.text
    return str(job.json()["id"])


def data(received: Any) -> dict[str, Any]:
    return json.loads(received.body)["data"]


async def test_endpoints_are_registered_listed_and_deleted_and_the_secret_is_shown_once(
    hr: Api, receiver: Receiver
) -> None:
    created = await register(hr, receiver.url, "report.ready", "interview.completed")
    assert created["secret"].startswith("whsec_") and created["enabled"] is True
    assert created["event_types"] == ["interview.completed", "report.ready"]
    listed = (await hr.get("/v1/webhooks/endpoints")).json()
    mine = next(e for e in listed if e["id"] == created["id"])
    assert "secret" not in mine and mine["url"] == receiver.url
    assert (await hr.get(f"/v1/webhooks/endpoints/{created['id']}")).json()["id"] == created["id"]

    unknown = await hr.post("/v1/webhooks/endpoints", {"url": receiver.url, "event_types": ["interview.exploded"]})
    assert unknown.status_code == 400 and "interview.exploded" in unknown.json()["error"]["message"]
    for url, why in (
        ("http://10.0.0.7/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fd00::1]/hook", "private"),
        ("ftp://example.com/hook", "http or https"),
    ):
        refused = await hr.post("/v1/webhooks/endpoints", {"url": url, "event_types": ["report.ready"]})
        assert refused.status_code == 422, (url, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "target_refused" and why in error["message"], (url, error)
    unauthorised = await hr.post(
        "/v1/webhooks/endpoints", {"url": receiver.url, "event_types": ["report.ready"]}, auth=False
    )
    assert unauthorised.status_code == 401

    await remove(hr, created["id"])
    assert (await hr.get(f"/v1/webhooks/endpoints/{created['id']}")).status_code == 404
    assert created["id"] not in [e["id"] for e in (await hr.get("/v1/webhooks/endpoints")).json()]
    schemas = (await hr.get("/v1/webhooks/event-types")).json()
    assert schemas["report.ready"]["properties"]["type"] == {"const": "report.ready"}


async def test_loopback_targets_are_refused_unless_the_setting_allows_them(
    server_factory: Any, receiver: Receiver
) -> None:
    strict = await server_factory.start()
    try:
        refused = await Api(strict.base, strict.api_key).post(
            "/v1/webhooks/endpoints", {"url": receiver.url, "event_types": ["report.ready"]}
        )
        assert refused.status_code == 422
        assert "loopback" in refused.json()["error"]["message"]
        assert "SHANMIAN_WEBHOOK_ALLOWED_TARGETS" in refused.json()["error"]["message"]
    finally:
        await server_factory.stop(strict)


async def test_a_typed_interview_sends_started_completed_and_report_ready_signed(
    server: Any, hr: Api, receiver: Receiver, fixtures_dir: Path
) -> None:
    endpoint = await register(hr, receiver.url, "interview.started", "interview.completed", "report.ready")
    job, clips = interview_scenario(fixtures_dir)
    iv = await hr.interview(job)
    stream = await Stream.open(f"{server.ws}/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}")
    try:
        await stream.send({"type": "hello", "mode": "text"})
        while True:
            m = await stream.next(REPORT_WAIT_S)
            if m["type"] == "question":
                await stream.send({"type": "answer", "text": answer_for(clips, m)})
            elif m["type"] == "closed":
                break
    finally:
        await stream.close()
    wanted = {"interview.started", "interview.completed", "report.ready"}
    await receiver.wait_for(lambda got: {json.loads(r.body)["type"] for r in got} >= wanted, seconds=30)
    verifier = Webhook(endpoint["secret"])
    mine = [r for r in receiver.received if data(r).get("interview_id") == iv["id"]]
    assert sorted(json.loads(r.body)["type"] for r in mine) == sorted(wanted), "each event once"
    for r in mine:
        event = verifier.verify(r.body, r.headers)
        assert event["data"]["job_id"] == iv["job_id"] and event["data"]["candidate_id"] == iv["candidate_id"]
        assert r.headers["content-type"] == "application/json"
    (completed,) = receiver.of_type("interview.completed")
    assert data(completed)["duration_s"] > 0
    (ready,) = receiver.of_type("report.ready")
    assert data(ready)["report_url"] == f"{server.base}/v1/interviews/{iv['id']}/report"

    # The worker records an attempt once the receiver's answer is back, just after the receiver saw the request.
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        log = (await hr.get("/v1/webhooks/deliveries", endpoint_id=endpoint["id"])).json()
        if {d["state"] for d in log} == {"delivered"} or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    assert sorted(d["event_type"] for d in log) == sorted(wanted)
    assert {d["state"] for d in log} == {"delivered"}
    assert all(d["attempts"][0]["status_code"] == 200 and d["attempts"][0]["latency_s"] > 0 for d in log)
    await remove(hr, endpoint["id"])


async def test_a_receiver_failing_five_times_gets_the_same_webhook_id_until_it_answers(
    hr: Api, receiver: Receiver
) -> None:
    receiver.answers = [(500, {})] * 5
    endpoint = await register(hr, receiver.url, "plan.version_created")
    job_id = await new_job(hr)
    await receiver.wait_for(lambda got: len(got) >= 6, seconds=60)
    assert len(receiver.received) == 6
    assert len({r.id for r in receiver.received}) == 1, "the same webhook-id on every attempt"
    assert data(receiver.received[-1])["job_id"] == job_id
    Webhook(endpoint["secret"]).verify(receiver.received[-1].body, receiver.received[-1].headers)

    log = await hr.poll(
        f"/v1/webhooks/deliveries/{_only_delivery_id(await _log(hr, endpoint['id']))}",
        lambda d: d["state"] == "delivered",
    )
    assert [a["outcome"] for a in log["attempts"]] == ["retrying"] * 5 + ["delivered"]
    assert [a["status_code"] for a in log["attempts"]] == [500] * 5 + [200]
    assert log["attempts"][0]["response_head"] == "answer 1: 500"
    assert log["event_id"] == receiver.received[0].id
    await remove(hr, endpoint["id"])


async def _log(hr: Api, endpoint_id: str) -> list[dict[str, Any]]:
    return (await hr.get("/v1/webhooks/deliveries", endpoint_id=endpoint_id)).json()


def _only_delivery_id(log: list[dict[str, Any]]) -> str:
    (delivery,) = log
    return str(delivery["id"])


async def test_410_disables_the_endpoint_and_a_replay_sends_the_same_id_again(hr: Api, receiver: Receiver) -> None:
    receiver.answers = [(410, {})]
    endpoint = await register(hr, receiver.url, "plan.version_created")
    await new_job(hr)
    await receiver.wait_for(lambda got: len(got) >= 1)
    got = await hr.poll(f"/v1/webhooks/endpoints/{endpoint['id']}", lambda e: not e["enabled"])
    assert got["enabled"] is False and "410" in got["disabled_reason"]
    await new_job(hr)  # a disabled endpoint gets no new deliveries
    (delivery,) = await _log(hr, endpoint["id"])
    assert delivery["state"] == "gone"

    refused = await hr.post(f"/v1/webhooks/deliveries/{delivery['id']}/replay", {})
    assert refused.status_code == 409 and "enable" in refused.json()["error"]["message"]
    enabled = await hr.post(f"/v1/webhooks/endpoints/{endpoint['id']}/enable", {})
    assert enabled.status_code == 200 and enabled.json()["enabled"] is True
    replayed = await hr.post(f"/v1/webhooks/deliveries/{delivery['id']}/replay", {})
    assert replayed.status_code == 202, replayed.text
    await receiver.wait_for(lambda got: len(got) >= 2)
    assert [r.id for r in receiver.received] == [delivery["event_id"]] * 2
    done = await hr.poll(f"/v1/webhooks/deliveries/{delivery['id']}", lambda d: d["state"] == "delivered")
    assert [(a["attempt"], a["outcome"]) for a in done["attempts"]] == [(1, "gone"), (2, "delivered")]
    missing = await hr.post("/v1/webhooks/deliveries/wd_nope/replay", {})
    assert missing.status_code == 404
    await remove(hr, endpoint["id"])


async def test_a_rotated_secret_and_the_one_it_replaced_both_verify_for_a_day(hr: Api, receiver: Receiver) -> None:
    endpoint = await register(hr, receiver.url, "plan.version_created")
    rotated = await hr.post(f"/v1/webhooks/endpoints/{endpoint['id']}/rotate-secret", {})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["secret"].startswith("whsec_") and new["secret"] != endpoint["secret"]
    assert new["previous_secret_valid_until"]
    await new_job(hr)
    (got,) = await receiver.wait_for(lambda got: len(got) >= 1)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (endpoint["secret"], new["secret"]):
        Webhook(secret).verify(got.body, got.headers)
    await remove(hr, endpoint["id"])
