"""The web routes' JSON: what the candidate page is told before joining, and who may ask."""

from __future__ import annotations

from typing import Any

from server_testkit import Api

JOB = {"title": "Backend Engineer", "requirements": ["Spring Boot"], "language": "en", "questions": [{"text": "Why?"}]}


async def test_join_info_tells_the_page_what_it_needs_and_whether_audio_may_be_kept(live_server: Any) -> None:
    api = Api(live_server.base, live_server.api_key)
    iv = await api.interview(JOB, mode="voice")
    r = await api.get(f"/join/{iv['id']}/info", auth=False, token=iv["candidate_token"])
    assert r.status_code == 200
    info = r.json()
    assert (info["title"], info["language"], info["mode"], info["total_questions"]) == (
        "Backend Engineer",
        "en",
        "voice",
        1,
    )
    assert info["status"] == "scheduled" and info["has_report"] is False
    assert info["stores_audio"] is live_server.settings.record


async def test_join_info_needs_the_candidate_token_and_does_not_reveal_ids(live_server: Any) -> None:
    api = Api(live_server.base, live_server.api_key)
    iv = await api.interview(JOB, mode="text")
    for interview_id, token in ((iv["id"], iv["observer_token"]), (iv["id"], None), ("nope", iv["candidate_token"])):
        params = {"token": token} if token else {}
        r = await api.get(f"/join/{interview_id}/info", auth=False, **params)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


async def test_the_pages_are_served_as_html(live_server: Any) -> None:
    api = Api(live_server.base, live_server.api_key)
    iv = await api.interview(JOB, mode="text")
    for path in (f"/join/{iv['id']}", "/hr/", f"/hr/observe/{iv['id']}", f"/hr/report/{iv['id']}"):
        r = await api.get(path, auth=False)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
        assert r.headers["content-type"].count("charset") <= 1
