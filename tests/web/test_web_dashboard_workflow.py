"""The HR dashboard's workflow in a real Chromium, on a real server: each number of a job's card lists the interviews
it counts (awaiting review here), and the reviews due are listed; an offer suggestion made by a positive human
review waits with its role, level and start window until a named person approves it on the page (nothing without a
name); a hire's course recommendations show each weak dimension with its courses and their reasons; at 360 px in
Chinese the titles are Chinese and nothing spills sideways."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hr_pages_testkit import DESKTOP, PHONE, WEIGHTS, HrSite, hr_page, hr_site, stored_report
from web_testkit import launch_chromium

from server.db.status import InterviewStatus

__all__ = ["hr_site"]  # the fixture, imported for this module's tests

CATALOGUE = [
    {
        "course_id": "sql-201",
        "title": "Query plans",
        "competencies": ["sql.plans"],
        "url": "https://learn.example/plans",
        "language": "en",
    }
]


@pytest.fixture(scope="module")
async def browser(playwright: Any, chromium_path: Path) -> AsyncIterator[Any]:
    browser = await launch_chromium(playwright, chromium_path)
    yield browser
    await browser.close()


async def _finished(site: HrSite, name: str, scores: dict[str, float], job_id: str | None = None) -> str:
    """A finished interview of a job with one reviewer (a new job unless `job_id`), its report saved."""
    job_id = job_id or await _job(site)
    c = await site.call("POST", "/v1/candidates", {"name": name})
    iv = await site.call("POST", "/v1/interviews", {"job_id": job_id, "candidate_id": c.json()["id"], "mode": "text"})
    iid = str(iv.json()["id"])
    await site.store.set_status(iid, InterviewStatus.COMPLETED, reason="completed")
    await site.store.save_report(iid, stored_report(scores, answered_well=True))
    return iid


async def _reviewed(site: HrSite, name: str, scores: dict[str, float], job_id: str | None = None) -> tuple[str, str]:
    """A finished interview whose reviewer recommends `yes`: (interview id, offer id)."""
    iid = await _finished(site, name, scores, job_id)
    (task,) = [t for t in (await site.json("/v1/reviews", status="pending")) if t["interview_id"] == iid]
    card = await site.call("POST", f"/v1/reviews/{task['id']}/scorecard", {"recommendation": "yes"})
    assert card.status_code == 201, card.text
    (offer,) = await site.json("/v1/offers", interview_id=iid)
    return iid, str(offer["id"])


async def _job(site: HrSite) -> str:
    job = await site.call(
        "POST",
        "/v1/jobs",
        {
            "title": "Analytics engineer",
            "requirements": list(WEIGHTS),
            "dimensions": [{"name": n, "weight": w} for n, w in WEIGHTS.items()],
            "questions": [{"text": f"Tell me about your {n} work.", "dimension": n} for n in WEIGHTS],
        },
    )
    assert job.status_code == 201, job.text
    job_id = str(job.json()["id"])
    put = await site.call("PUT", f"/v1/jobs/{job_id}/reviewers", {"reviewers": [{"name": "R", "email": "r@x.example"}]})
    assert put.status_code == 200, put.text
    return job_id


async def test_a_cards_number_lists_its_interviews_and_the_reviews_due_are_listed(
    hr_site: HrSite, browser: Any
) -> None:
    job_id = await _job(hr_site)
    waiting = await _finished(hr_site, "Ida Berg", {"sql": 6.0, "design": 6.0, "communication": 6.0}, job_id)
    reviewed, _ = await _reviewed(hr_site, "Jon Park", {"sql": 7.0, "design": 7.0, "communication": 7.0}, job_id)
    page = await hr_page(browser, f"{hr_site.base}/hr/", DESKTOP)
    try:
        card = page.locator(f"article[data-job='{job_id}']")
        assert await card.locator("tr[data-interview]").count() == 2
        assert await card.locator("[data-count='awaiting_review']").inner_text() == "1"
        await card.locator("[data-count='awaiting_review']").click()
        await page.wait_for_function(
            "(job) => document.querySelectorAll(`article[data-job='${job}'] tr[data-interview]`).length === 1",
            arg=job_id,
        )
        assert await card.locator(f"tr[data-interview='{waiting}']").count() == 1
        assert await card.locator(f"tr[data-interview='{reviewed}']").count() == 0
        assert await card.locator("[data-count='awaiting_review']").get_attribute("aria-pressed") == "true"
        due = page.locator("#due li[data-review]")
        texts = await due.all_inner_texts()
        assert any("Ida Berg" in t and "review by R" in t for t in texts), texts
        assert not any("Jon Park" in t for t in texts), texts
    finally:
        await page.context.close()


async def test_an_offer_suggestion_is_approved_on_the_page_by_a_named_person(hr_site: HrSite, browser: Any) -> None:
    _, offer_id = await _reviewed(hr_site, "Noor Haddad", {"sql": 8.5, "design": 8.0, "communication": 8.2})
    page = await hr_page(browser, f"{hr_site.base}/hr/", DESKTOP)
    try:
        item = page.locator(f"[data-offer='{offer_id}']")
        text = await item.inner_text()
        assert "Noor Haddad" in text and "Analytics engineer, senior, start between" in text, text

        await item.locator("[data-decide='approve']").click()  # no name yet: refused on the page
        assert await page.locator("#decider").evaluate("(e) => e.validationMessage") == "Enter your name first."
        assert (await hr_site.json(f"/v1/offers/{offer_id}"))["status"] == "pending"

        await page.locator("#decider").fill("Dana Reyes")
        await item.locator("[data-decide='approve']").click()
        await item.wait_for(state="detached", timeout=10_000)
        decided = await hr_site.json(f"/v1/offers/{offer_id}")
        assert (decided["status"], decided["decided_by"]) == ("approved", "Dana Reyes")
    finally:
        await page.context.close()


async def test_a_hires_courses_show_their_weak_dimension_and_reason_and_read_in_chinese_on_a_phone(
    hr_site: HrSite, browser: Any
) -> None:
    iid, _ = await _reviewed(hr_site, "Wei Zhang", {"sql": 3.5, "design": 7.5, "communication": 7.0})
    assert (await hr_site.call("PUT", "/v1/courses", CATALOGUE)).status_code == 200
    job_id = (await hr_site.json(f"/v1/interviews/{iid}"))["job_id"]
    mapped = await hr_site.call("PUT", f"/v1/jobs/{job_id}/competencies", {"dimensions": {"sql": ["sql.plans"]}})
    assert mapped.status_code == 200, mapped.text
    hired = {"interview_id": iid, "score": 3.0, "rated_at": "2027-01-05", "rater_saw_interview_scores": False}
    assert (await hr_site.call("POST", "/v1/outcomes", hired)).status_code == 201
    made = await hr_site.call("POST", f"/v1/interviews/{iid}/training")
    assert made.status_code == 201, made.text

    page = await hr_page(browser, f"{hr_site.base}/hr/", PHONE, "zh")
    try:
        item = page.locator(f"[data-training='{made.json()['id']}']")
        assert "sql 3.5/10" in await item.locator("[data-dimension='sql'] strong").inner_text()
        course = item.locator("[data-course='sql-201']")
        assert await course.locator("a").get_attribute("href") == "https://learn.example/plans"
        assert "sql 3.5/10" in await course.inner_text()  # the reason names the score
        assert await page.locator("#training-title").inner_text() == "新员工课程"
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        await page.context.close()


async def test_held_email_is_listed_and_read_on_the_dashboard_when_no_smtp_server_is_set(
    hr_site: HrSite, browser: Any
) -> None:
    job_id = await _job(hr_site)
    person = await hr_site.call("POST", "/v1/candidates", {"name": "Ola Nordmann", "email": "ola@candidates.example"})
    sent = await hr_site.call("POST", "/v1/invitations", {"job_id": job_id, "candidate_id": person.json()["id"]})
    assert sent.status_code == 201, sent.text
    [held] = [m for m in await hr_site.json("/v1/mail", state="held") if "ola@candidates.example" in m["to"]]
    page = await hr_page(browser, f"{hr_site.base}/hr/", DESKTOP)
    try:
        item = page.locator(f"#mail [data-mail='{held['id']}']")
        assert await page.locator("#mail-section").is_visible()
        summary = await item.locator("summary").inner_text()
        assert held["subject"] in summary and "ola@candidates.example" in summary and "held" in summary
        await item.locator("summary").click()
        await page.wait_for_function(
            "(id) => document.querySelector(`[data-mail='${id}'] pre`).textContent.includes('/invite/')", arg=held["id"]
        )
    finally:
        await page.context.close()
