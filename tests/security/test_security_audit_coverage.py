"""Every human access and action the audit log was missing, on a real model-free server, SQLite and PostgreSQL: each
done with a user's own key (not the settings' key) where their role allows it, and its entry read back through
`GET /v1/audit` naming that user and the ids involved, with none of the personal data the action touched."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))  # the server tests' kits
from hr_testkit import job_body, report
from workflow_testkit import DATABASES, WorkflowServer, workflow_server

from server.db.status import InterviewStatus

SCORES = {"sql": 8.0, "design": 7.0, "communication": 7.0}
CANDIDATE_NAME = "Zora Quillfeather"
CANDIDATE_EMAIL = "zora.quillfeather@candidates.example"
REVIEWER_NAME = "Rupert Vantablack"
REVIEWER_EMAIL = "rupert.vantablack@company.example"
MANAGER_NAME = "Magnolia Threepwood"
MANAGER_EMAIL = "magnolia.threepwood@company.example"
SCORECARD_COMMENT = "Crisp indexing story, would hire"
RECOURSE_MESSAGE = "Please have a person look at my sql answer"
RECOURSE_ANSWER = "A recruiter re-read your answer and agrees with the score"
OFFER_NOTE = "Offer approved after the panel"
PERSONAL = [
    CANDIDATE_NAME,
    CANDIDATE_EMAIL,
    REVIEWER_NAME,
    REVIEWER_EMAIL,
    MANAGER_NAME,
    MANAGER_EMAIL,
    SCORECARD_COMMENT,
    RECOURSE_MESSAGE,
    RECOURSE_ANSWER,
    OFFER_NOTE,
]


@dataclass
class Site(WorkflowServer):
    keys: dict[str, str] = field(default_factory=dict)  # role -> a user's key, limited to `job` (admin: every job)
    actors: dict[str, str] = field(default_factory=dict)  # role -> "user:<id>"
    job: str = ""
    candidate: str = ""
    interview: str = ""  # completed, with a report and a review task for the reviewer

    async def as_role(self, role: str, method: str, path: str, body: Any = None, **params: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[role]}"}
        async with httpx.AsyncClient(base_url=self.base, timeout=60, headers=headers) as c:
            return await c.request(method, path, json=body, params=params or None)

    async def ok(self, method: str, path: str, body: Any = None, *, role: str | None = None, **params: str) -> Any:
        r = await (
            self.as_role(role, method, path, body, **params) if role else self.call(method, path, body, **params)
        )
        assert r.status_code in (200, 201), r.text
        return r.json()

    async def audit(self) -> list[dict[str, Any]]:
        r = await self.call("GET", "/v1/audit")
        assert r.status_code == 200, r.text
        entries = [json.loads(line) for line in r.text.splitlines() if line]
        return [e | {"detail": e["detail"] or {}} for e in entries]

    async def entry(self, action: str, **detail: Any) -> dict[str, Any]:
        """The one entry of `action` whose detail holds `detail`; none of the personal data is in it."""
        found = [
            e
            for e in await self.audit()
            if e["action"] == action and all(e["detail"].get(k) == v for k, v in detail.items())
        ]
        assert len(found) == 1, (action, detail, found)
        text = json.dumps(found[0]).lower()
        assert not [p for p in PERSONAL if p.lower() in text], found[0]
        return found[0]


@pytest.fixture(scope="module", params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue("postgres_database")) if request.param == "postgres" else None


@pytest.fixture(scope="module")
async def site(database_url: str | None, free_port: Callable[[], int]) -> AsyncIterator[Site]:
    events = ["review.requested", "review.submitted", "offer.suggested"]
    async with workflow_server(Site, database_url, free_port(), events) as made:
        made.job = (await made.ok("POST", "/v1/jobs", job_body("Audited job")))["id"]
        for role in ("admin", "recruiter", "reviewer", "observer"):
            email = REVIEWER_EMAIL if role == "reviewer" else f"{role}.audit@company.example"
            name = REVIEWER_NAME if role == "reviewer" else f"An {role}"
            jobs = [] if role == "admin" else [made.job]
            user = await made.ok("POST", "/v1/users", {"name": name, "email": email, "role": role, "jobs": jobs})
            made.keys[role] = (await made.ok("POST", f"/v1/users/{user['id']}/keys"))["key"]
            made.actors[role] = f"user:{user['id']}"
        reviewers = {"reviewers": [{"name": REVIEWER_NAME, "email": REVIEWER_EMAIL}], "blind": False}
        await made.ok("PUT", f"/v1/jobs/{made.job}/reviewers", reviewers, role="recruiter")
        made.candidate = (await made.ok("POST", "/v1/candidates", {"name": CANDIDATE_NAME, "email": CANDIDATE_EMAIL}))[
            "id"
        ]
        body = {"job_id": made.job, "candidate_id": made.candidate, "mode": "text"}
        made.interview = (await made.ok("POST", "/v1/interviews", body, role="recruiter"))["id"]
        await made.store.set_status(made.interview, InterviewStatus.COMPLETED, reason="completed")
        await made.store.save_report(made.interview, report(SCORES))
        yield made


async def test_setting_a_jobs_reviewers_is_audited_with_a_count_not_the_people(site: Site) -> None:
    entry = await site.entry("reviewers_set", job_id=site.job)
    assert entry["actor"] == site.actors["recruiter"]
    assert (entry["interview_id"], entry["detail"]["reviewers"], entry["detail"]["blind"]) == (None, 1, False)


async def test_reading_a_candidates_record_is_audited_per_interview_without_the_candidates_id(site: Site) -> None:
    got = await site.ok("GET", f"/v1/candidates/{site.candidate}", role="recruiter")
    assert got["name"] == CANDIDATE_NAME
    entry = await site.entry("candidate_viewed")
    assert (entry["actor"], entry["interview_id"]) == (site.actors["recruiter"], site.interview)
    # The candidate's id would outlive their erasure; the interview link is what an erasure removes.
    assert site.candidate not in json.dumps(entry)


async def test_reading_or_exporting_a_candidate_without_interviews_leaves_an_unlinked_entry(site: Site) -> None:
    lone = (await site.ok("POST", "/v1/candidates", {"name": CANDIDATE_NAME}, role="recruiter"))["id"]
    before = len([e for e in await site.audit() if e["action"] in ("candidate_viewed", "candidate_exported")])
    await site.ok("GET", f"/v1/candidates/{lone}", role="admin")
    exported = await site.as_role("admin", "GET", f"/v1/candidates/{lone}/export")
    assert exported.status_code == 200, exported.text
    added = [e for e in await site.audit() if e["action"] in ("candidate_viewed", "candidate_exported")][before:]
    assert [(e["action"], e["actor"], e["interview_id"]) for e in added] == [
        ("candidate_viewed", site.actors["admin"], None),
        ("candidate_exported", site.actors["admin"], None),
    ]
    assert lone not in json.dumps(added)


async def test_creating_and_revoking_a_share_link_is_audited_and_a_managers_scorecard_names_the_link(
    site: Site,
) -> None:
    made = await site.ok("POST", f"/v1/interviews/{site.interview}/shares", {"expires_in_days": 3}, role="admin")
    created = await site.entry("share_created", share_id=made["id"])
    assert (created["actor"], created["interview_id"], created["detail"]["expires_in_days"]) == (
        site.actors["admin"],
        site.interview,
        3,
    )
    parts = urlsplit(made["link"])
    token = parse_qs(parts.query)["token"][0]
    card = {"name": MANAGER_NAME, "email": MANAGER_EMAIL, "recommendation": "yes", "comment": SCORECARD_COMMENT}
    sent = await site.call("POST", f"/v1/shares/{made['id']}/scorecard", card, hr=False, token=token)
    assert sent.status_code == 201, sent.text
    scored = await site.entry("scorecard_submitted", share_id=made["id"])
    assert (scored["actor"], scored["interview_id"], scored["detail"]["scorecard_id"]) == (
        "share_link",
        site.interview,
        sent.json()["id"],
    )
    await site.ok("POST", f"/v1/shares/{made['id']}/revoke", role="admin")
    revoked = await site.entry("share_revoked", share_id=made["id"])
    assert (revoked["actor"], revoked["interview_id"]) == (site.actors["admin"], site.interview)
    assert token not in json.dumps(await site.audit()), "the link's secret is never written"


async def test_a_reviewer_reading_their_review_and_scoring_it_is_audited(site: Site) -> None:
    (task,) = await site.ok("GET", "/v1/reviews", role="reviewer", status="pending")
    read = await site.ok("GET", f"/v1/reviews/{task['id']}", role="reviewer")
    assert read["review"]["interview_id"] == site.interview
    viewed = await site.entry("review_viewed", review_id=task["id"])
    assert (viewed["actor"], viewed["interview_id"]) == (site.actors["reviewer"], site.interview)
    body = {"recommendation": "strong_yes", "comment": SCORECARD_COMMENT}
    card = await site.ok("POST", f"/v1/reviews/{task['id']}/scorecard", body, role="reviewer")
    scored = await site.entry("scorecard_submitted", review_id=task["id"])
    assert (scored["actor"], scored["interview_id"], scored["detail"]["scorecard_id"]) == (
        site.actors["reviewer"],
        site.interview,
        card["id"],
    )


async def test_reading_an_interviews_highlights_is_audited(site: Site) -> None:
    got = await site.ok("GET", f"/v1/interviews/{site.interview}/highlights", role="reviewer")
    assert got["interview_id"] == site.interview
    entry = await site.entry("highlights_viewed")
    assert (entry["actor"], entry["interview_id"]) == (site.actors["reviewer"], site.interview)


async def test_approving_an_offer_suggestion_is_audited_under_the_keys_holder(site: Site) -> None:
    offers: list[dict[str, Any]] = []
    for _ in range(100):  # the suggestion follows the positive scorecard's event
        offers = await site.ok("GET", "/v1/offers", role="admin", interview_id=site.interview)
        if offers:
            break
        await asyncio.sleep(0.1)
    (offer,) = offers
    body = {"decided_by": "Dana Reyes", "note": OFFER_NOTE}
    await site.ok("POST", f"/v1/offers/{offer['id']}/approve", body, role="admin")
    entry = await site.entry("offer_approved", offer_id=offer["id"])
    assert (entry["actor"], entry["interview_id"]) == (site.actors["admin"], site.interview)
    assert "Dana Reyes" not in json.dumps(entry)


async def test_answering_a_candidates_recourse_request_is_audited(site: Site) -> None:
    token = (await site.store.interview(site.interview)).candidate_token  # type: ignore[union-attr]
    asked = await site.call(
        "POST", f"/v1/interviews/{site.interview}/recourse", {"message": RECOURSE_MESSAGE}, hr=False, token=token
    )
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    await site.ok("POST", f"/v1/recourse/{request_id}/answer", {"answer": RECOURSE_ANSWER}, role="admin")
    entry = await site.entry("recourse_answered", request_id=request_id)
    assert (entry["actor"], entry["interview_id"]) == (site.actors["admin"], site.interview)


async def test_an_observer_joining_a_stream_is_audited_with_who_and_which_interview(site: Site) -> None:
    body = {"job_id": site.job, "candidate_id": site.candidate, "mode": "text"}
    scheduled = (await site.ok("POST", "/v1/interviews", body, role="recruiter"))["id"]
    ticket = (await site.ok("POST", f"/v1/interviews/{scheduled}/observer-ticket", role="observer"))["ticket"]
    url = site.base.replace("http", "ws", 1) + f"/v1/interviews/{scheduled}/observe?ticket={ticket}"
    async with websockets.connect(url) as socket:
        await socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await socket.recv())["type"] == "pong"
    joined = [e for e in await site.audit() if e["action"] == "observer_joined" and e["interview_id"] == scheduled]
    assert [(e["actor"], e["detail"]) for e in joined] == [(site.actors["observer"], {})]
    assert ticket not in json.dumps(joined)
