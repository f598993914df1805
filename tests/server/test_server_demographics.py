"""Self-identification is collected apart and kept apart: the form's choices over REST on a real server (a bad
category refused, declining allowed, an answer replaced), and nothing the interviewer or the scorer reads can
reach it: no file under prompts/ or dialogue/ names its table, fields or module, and importing the scorer and the
interviewer loads neither the demographics module nor anything else of the server."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

from hr_testkit import HrServer, hr_database_url, hr_server, make_job, scored_interviews
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.demographics import RaceEthnicity, Sex
from server.db.demographics import DECLINE, RACE_ETHNICITY, SEX
from server.db.tables import DemographicsRow

__all__ = ["hr_database_url", "hr_server"]  # the fixtures, imported for this module's tests

ROOT = Path(__file__).resolve().parents[2]
# What would tie a prompt or the scorer to the self-identification: its table, its columns, its row class, its module.
NAMES = ("candidate_demographics", "DemographicsRow", "race_ethnicity", "server.db.demographics", "SelfIdentification")
SCORER_AND_INTERVIEWER = ("dialogue.scoring", "dialogue.judging", "dialogue.interviewer", "dialogue.answer_signals")


def test_no_prompt_or_dialogue_file_names_the_self_identification() -> None:
    files = [p for d in ("prompts", "dialogue") for p in sorted((ROOT / d).rglob("*")) if p.is_file()]
    assert len(files) > 20, "the folders were found"
    hits = [f"{p.relative_to(ROOT)}: {n}" for p in files for n in NAMES if n in p.read_text(errors="replace")]
    assert hits == []


def test_the_scorer_and_the_interviewer_never_import_the_demographics_module() -> None:
    script = (
        f"import sys\nfor m in {SCORER_AND_INTERVIEWER!r}: __import__(m)\n"
        "print('\\n'.join(m for m in sys.modules if m == 'server' or m.startswith(('server.', 'hr.'))))"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [], "the scorer and the interviewer load nothing of server/ or hr/"


def test_the_documented_choices_are_the_forms_categories() -> None:
    assert typing.get_args(Sex) == (*SEX, DECLINE)
    assert typing.get_args(RaceEthnicity) == (*RACE_ETHNICITY, DECLINE)


async def _stored(hr: HrServer, candidate_id: str) -> tuple[str, str] | None:
    async with AsyncSession(hr.store.engine) as s:
        row = await s.get(DemographicsRow, candidate_id)
        return None if row is None else (row.sex, row.race_ethnicity)


async def test_answers_are_stored_apart_replaced_when_given_again_and_declining_is_a_choice(
    hr_server: HrServer,
) -> None:
    job = await make_job(hr_server.api)
    [(cid, iid)] = await scored_interviews(hr_server, job, [{"sql": 5.0, "design": 5.0, "communication": 5.0}])
    first = {"sex": "Female", "race_ethnicity": "Hispanic or Latino"}
    r = await hr_server.api.post(f"/v1/candidates/{cid}/demographics", first)
    assert r.status_code == 200 and r.json() == first, r.text
    assert await _stored(hr_server, cid) == ("Female", "Hispanic or Latino")
    declined = {"sex": "Decline to answer", "race_ethnicity": "Decline to answer"}
    assert (await hr_server.api.post(f"/v1/candidates/{cid}/demographics", declined)).status_code == 200
    assert await _stored(hr_server, cid) == ("Decline to answer", "Decline to answer")
    interview = (await hr_server.api.get(f"/v1/interviews/{iid}")).json()
    candidate = (await hr_server.api.get(f"/v1/candidates/{cid}")).json()
    assert "Decline" not in str(interview) + str(candidate), "neither the interview nor the candidate shows it"


async def test_a_category_off_the_form_or_an_unknown_candidate_is_refused(hr_server: HrServer) -> None:
    c = (await hr_server.api.post("/v1/candidates", {"name": "Form Filler"})).json()["id"]
    for bad in ({"sex": "male"}, {"sex": "Other"}, {"race_ethnicity": "Martian"}, {"race_ethnicity": ""}):
        body = {"sex": "Male", "race_ethnicity": "White", **bad}
        r = await hr_server.api.post(f"/v1/candidates/{c}/demographics", body)
        assert r.status_code == 400, r.text
        field, value = next(iter(bad.items()))
        assert f"{value!r} (at {field})" in r.json()["error"]["message"], r.text
    assert await _stored(hr_server, c) is None
    unknown = await hr_server.api.post(
        "/v1/candidates/nosuchcandidate/demographics", {"sex": "Male", "race_ethnicity": "White"}
    )
    assert unknown.status_code == 404 and "nosuchcandidate" in unknown.json()["error"]["message"], unknown.text
