"""A voice interview through the candidate's page in real headless Chromium, its fake microphone playing a fixture
answer, while HR watches from the dashboard and the observer page in a second browser context; then the reports.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from server_testkit import REPORT_WAIT_S, Api
from web_testkit import ARTIFACTS, fake_microphone_wav, launch_chromium, shot

# One question, so one clip answers it; the closing question is answered by typing.
QUESTION = "How do you make sure your services stay reliable in production?"
CLIP = "q3_strong"
FOLLOW_UP_ANSWER = (
    "For example, last spring a canary release of our payment service showed a rise in errors, so we rolled it back "
    "within five minutes, wrote a blameless postmortem and added an alert on the error budget."
)  # "I start with clear service level objectives, … metrics in Prometheus. …"


@pytest.fixture(scope="module")
async def voice_browser(playwright: Any, chromium_path: Path, fixtures_dir: Path) -> AsyncIterator[Any]:
    wav = fake_microphone_wav(fixtures_dir / "backend_en" / f"{CLIP}.wav", ARTIFACTS / "fake-microphone.wav")
    browser = await launch_chromium(
        playwright,
        chromium_path,
        [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}",
        ],
    )
    yield browser
    await browser.close()


async def voice_interview(live_server: Any, fixtures_dir: Path) -> dict[str, Any]:
    manifest = json.loads((fixtures_dir / "backend_en" / "manifest.json").read_text())
    job = dict(
        manifest["scenario"]["job"],
        title="Site Reliability Engineer",
        requirements=["production reliability", "monitoring and alerting"],
        questions=[{"text": QUESTION}],
    )
    return await Api(live_server.base, live_server.api_key).interview(job, mode="voice", name="Grace Hopper")


async def sign_in(page: Any, base: str, key: str) -> None:
    await page.goto(f"{base}/hr/")
    await page.get_by_label("HR API key").fill(key)
    await page.get_by_role("button", name="Continue").click()
    await page.wait_for_selector("body[data-loaded='1']")


@pytest.mark.timeout(900)  # among the slowest real-model tests: see timeout in pyproject.toml
async def test_voice_interview_observed_live_then_reported(
    live_server: Any, voice_browser: Any, fixtures_dir: Path
) -> None:
    iv = await voice_interview(live_server, fixtures_dir)
    api = Api(live_server.base, live_server.api_key)

    # The candidate: consent, microphone check, start speaking.
    candidate_ctx = await voice_browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    candidate = await candidate_ctx.new_page()
    console: list[str] = []
    candidate.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    await candidate.goto(iv["join_url"])
    await candidate.get_by_role("heading", name=re.compile("Site Reliability Engineer")).wait_for()
    assert await candidate.get_by_role("button", name="Start the interview").is_disabled()
    await shot(candidate, "candidate-desktop-1-intro")
    await candidate.get_by_label(re.compile("I understand that an AI conducts")).check()
    await candidate.get_by_label(re.compile("Also keep an audio recording")).check()
    assert await candidate.get_by_role("radio", name=re.compile("Speak")).is_checked()
    await candidate.get_by_role("button", name="Test microphone").click()
    await candidate.get_by_role("button", name="Start the interview").click()
    await candidate.locator("#question", has_text=QUESTION).wait_for()
    assert await candidate.locator("#progress").inner_text() == "Question 1 of 1"

    # HR: the dashboard lists the interview as live; its link opens the observer view in another context.
    hr_ctx = await voice_browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    hr = await hr_ctx.new_page()
    await sign_in(hr, live_server.base, live_server.api_key)
    live_link = hr.locator(f"#live li[data-interview='{iv['id']}'] a")
    await live_link.wait_for()
    await shot(hr, "hr-desktop-1-dashboard-live")
    await live_link.click()
    await hr.wait_for_url(f"**/hr/observe/{iv['id']}")
    await hr.locator("#transcript li.q", has_text=QUESTION).wait_for()

    # The answer is spoken: captions on the candidate's page, the same words live on the observer's.
    captions = candidate.locator("#captions .final", has_text=re.compile("Prometheus", re.I))
    await captions.first.wait_for(timeout=60_000)
    await shot(candidate, "candidate-desktop-2-answering")
    await hr.locator("#transcript li.a", has_text=re.compile("Prometheus", re.I)).first.wait_for(timeout=20_000)
    await shot(hr, "hr-desktop-2-observer")

    # A follow-up (if the rules ask one) and the closing question are answered by typing (keyboard only).
    typed = candidate.get_by_role("textbox", name="Type your answer")
    await candidate.locator("#kind", has_text=re.compile("Follow-up|Closing")).wait_for(timeout=30_000)
    if await candidate.locator("#kind").inner_text() == "Follow-up":
        await typed.fill(FOLLOW_UP_ANSWER)
        await typed.press("Control+Enter")
        await candidate.locator("#kind", has_text="Closing").wait_for(timeout=30_000)
    assert await candidate.locator("#progress").inner_text() == "Last question"
    await typed.fill("No questions from me. Thank you for your time!")
    await typed.press("Control+Enter")
    await candidate.locator("#overall").wait_for(timeout=REPORT_WAIT_S * 1000)  # the report follows scoring
    report = (await api.get(f"/v1/interviews/{iv['id']}/report")).json()
    mine = (await api.get(f"/v1/interviews/{iv['id']}/report", auth=False, token=iv["candidate_token"])).json()
    # The candidate sees bands, not scores.
    assert await candidate.locator("#overall").get_attribute("data-band") == mine["band"]
    assert f"{report['overall']:.1f}" not in await candidate.locator("#overall").inner_text()
    for dim in report["dimensions"]:
        assert await candidate.locator(f".dim[data-dimension='{dim['name']}']").count() == 1
    await shot(candidate, "candidate-desktop-3-report")

    # The observer saw it close, and comments for other observers.
    await hr.locator("#closed-note [data-closed='completed']").wait_for(timeout=15_000)
    await hr.get_by_label("Add a comment").fill("Clear on SLOs and canaries; ask about on-call next.")
    await hr.get_by_role("button", name="Post comment").click()
    await hr.locator("#comments li", has_text="ask about on-call").wait_for()
    await shot(hr, "hr-desktop-3-observer-closed")

    # The dashboard counts it; the report view shows evidence, the whole transcript and the comment.
    await hr.goto(f"{live_server.base}/hr/")
    await hr.wait_for_selector("body[data-loaded='1']")
    job_card = hr.locator(f"article.job[data-job='{iv['job_id']}']")
    assert await job_card.locator("[data-count='completed']").inner_text() == "1"
    passed = int(report["overall"] >= report["pass_threshold"])
    assert await job_card.locator("[data-count='passed']").inner_text() == str(passed)
    assert await job_card.locator("[data-count='live']").inner_text() == "0"
    await shot(hr, "hr-desktop-4-dashboard")
    await job_card.locator(f"tr[data-interview='{iv['id']}'] a", has_text="Report").click()
    await hr.wait_for_selector("body[data-loaded='1']")
    quotes = hr.locator("#report blockquote")
    assert await quotes.count() >= 1
    assert "prometheus" in (await hr.locator("#transcript").inner_text()).lower()
    assert "ask about on-call" in await hr.locator("#comments").inner_text()
    await hr.locator("#recording audio").wait_for()  # the candidate agreed to a recording
    await shot(hr, "hr-desktop-5-report")

    body = (await api.get(f"/v1/interviews/{iv['id']}")).json()
    assert body["status"] == "completed"
    assert "prometheus" in body["transcript"][0]["answer"].lower()
    assert not [line for line in console if line.startswith("error")], console
    await candidate_ctx.close()
    await hr_ctx.close()
