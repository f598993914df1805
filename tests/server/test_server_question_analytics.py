"""Question analytics over REST on a real server, SQLite and a real PostgreSQL: 30 interviews on plan version 1 and
30 on version 2, where question q1 was reworded, with turns and reports stored as the session and the scorer store
them. Version 1's first answers are valid 9 times in 30 (the rest too short, off the question by the scorer's
relevance signal, or refusals), version 2's 21 times: the rates, their Wilson intervals, the rates after follow-up,
rephrase and abandonment come out as built, and the two versions differ significantly (z = 3.10, p = 0.0019)."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hr_testkit import HrServer, hr_database_url, hr_server, make_job, report
from sqlalchemy import insert

from dialogue.language import words
from dialogue.report import AnswerScore, Signals
from dialogue.session import QuestionKind, Turn
from hr.question_analytics import ai_level, human_level, quadratic_weighted_kappa
from server.db.status import InterviewStatus
from server.db.tables import ScorecardRow

__all__ = ["hr_database_url", "hr_server"]  # the fixtures, imported for this module's tests

ARM = 30
VALID_V1, VALID_V2 = 9, 21
# Version 1's 21 invalid first answers: 7 too short (each rescued by its follow-up), 7 off the question, 7 refusals.
SHORT, OFF_TOPIC, REFUSED = 7, 7, 7
REPHRASED = 3  # version-1 interviews where the candidate asked for q1 in other words
ABANDONED_AT_Q2 = 4  # version-2 interviews the candidate left while q2 was asked

Q1_V1 = "What do you know about indexing in SQL databases?"
Q1_V2 = "How would you speed up a slow SQL query on a large table?"
Q2 = "Tell me about a time you designed a system under a tight deadline."
VALID = (
    "I would add a composite index on the customer and date columns, check the query plan for a sequential scan, "
    "and rewrite the correlated subquery as a join so the report reads far fewer rows each night."
)
SHORT_ANSWER = "I would add an index."
FOLLOW_UP_ANSWER = (
    "Specifically a composite index on customer id and order date, then I compare the plans before and after, "
    "and keep statistics fresh so the planner picks it."
)
REFUSAL = (
    "I'd rather not say, because everything I did with databases there is covered by a confidentiality agreement "
    "with my previous employer and I cannot share any of the details in this interview."
)
STAR = (
    "Last year our team had two weeks to launch a billing service. I designed the queue and the retry policy myself, "
    "and as a result we went live on time and cut failed payments by a third."
)
RELEVANT, OFF = 0.2, -0.5  # the scorer's relevance signal in nats: its own question fits far better, or far worse


def _signals(relevance: float) -> Signals:
    return Signals(rubric=6.0, surprisal=3.0, detail=8.0, relevance=relevance, tokens=40)


def _answer_score(qid: str, text: str, score: float, relevance: float) -> AnswerScore:
    return AnswerScore(qid, text, "sql" if qid == "q1" else "design", 1, score, _signals(relevance), None)


async def _interview(
    hr: HrServer,
    job: str,
    k: int,
    q1_text: str,
    first: str,
    relevance: float,
    *,
    follow_up: str | None = None,
    rephrased: bool = False,
    leave_at_q2: bool = False,
) -> None:
    c = await hr.api.post("/v1/candidates", {"name": f"Candidate {k}"})
    iv = await hr.api.post("/v1/interviews", {"job_id": job, "candidate_id": c.json()["id"], "mode": "text"})
    assert iv.status_code == 201, iv.text
    iid = iv.json()["id"]
    asked = f"Let me put it another way: {q1_text}" if rephrased else q1_text
    turns = [Turn(1, "q1", "q1", QuestionKind.MAIN, asked, first, None, None)]
    if follow_up is not None:
        turns.append(Turn(2, "q1-f1", "q1", QuestionKind.FOLLOW_UP, "Which index, exactly?", follow_up, None, None))
    if not leave_at_q2:
        turns.append(Turn(len(turns) + 1, "q2", "q2", QuestionKind.MAIN, Q2, STAR, None, None))
    for turn in turns:
        await hr.store.add_turn(iid, turn)
    status = InterviewStatus.ABANDONED if leave_at_q2 else InterviewStatus.COMPLETED
    await hr.store.set_status(iid, status, reason="left" if leave_at_q2 else "completed")
    q1_score, q2_score = _scores(k)
    answers = [_answer_score("q1", q1_text, q1_score, relevance)]
    if not leave_at_q2:
        answers.append(_answer_score("q2", Q2, q2_score, RELEVANT))
    version = 2 if q1_text == Q1_V2 else 1
    stored = replace(report({"sql": q1_score, "design": q2_score}), answers=tuple(answers), plan_version=version)
    await hr.store.save_report(iid, stored)


def _scores(k: int) -> tuple[float, float]:
    """Answer scores that go together loosely, so q1's item-rest correlation is a known, non-trivial figure."""
    q1 = 3.0 + (k * 7 % 11) * 0.5
    return q1, 4.0 + 0.3 * q1 + (k * 5 % 7) * 0.4


def _q1_arm_v1() -> list[dict[str, Any]]:
    arm: list[dict[str, Any]] = []
    arm += [{"first": VALID, "relevance": RELEVANT} for _ in range(VALID_V1)]
    arm += [{"first": SHORT_ANSWER, "relevance": RELEVANT, "follow_up": FOLLOW_UP_ANSWER} for _ in range(SHORT)]
    arm += [{"first": VALID, "relevance": OFF} for _ in range(OFF_TOPIC)]
    arm += [{"first": REFUSAL, "relevance": RELEVANT} for _ in range(REFUSED)]
    for spec in arm[-REPHRASED:]:
        spec["rephrased"] = True
    return arm


def _q1_arm_v2() -> list[dict[str, Any]]:
    arm: list[dict[str, Any]] = [{"first": VALID, "relevance": RELEVANT} for _ in range(VALID_V2)]
    arm += [{"first": SHORT_ANSWER, "relevance": RELEVANT} for _ in range(ARM - VALID_V2)]
    for spec in arm[:ABANDONED_AT_Q2]:
        spec["leave_at_q2"] = True
    return arm


@pytest.fixture(scope="module")
async def job(hr_server: HrServer) -> str:
    job_id = await make_job(hr_server.api, "Analytics role")
    questions = [{"text": Q1_V1, "dimension": "sql"}, {"text": Q2, "dimension": "design"}]
    async with hr_server.api_client() as client:
        r = await client.put(f"/v1/jobs/{job_id}/plan", json={"questions": questions})  # version 2: these two
    assert r.status_code == 200, r.text
    for k, spec in enumerate(_q1_arm_v1()):
        await _interview(hr_server, job_id, k, Q1_V1, **spec)
    questions[0]["text"] = Q1_V2
    async with hr_server.api_client() as client:
        r = await client.put(f"/v1/jobs/{job_id}/plan", json={"questions": questions})  # version 3: q1 reworded
    assert r.status_code == 200, r.text
    for k, spec in enumerate(_q1_arm_v2(), start=ARM):
        await _interview(hr_server, job_id, k, Q1_V2, **spec)
    return job_id


async def _analytics(hr: HrServer, job: str, **query: str) -> dict[str, Any]:
    r = await hr.api.get(f"/v1/jobs/{job}/questions/analytics", **query)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _version(body: dict[str, Any], qid: str, version: int) -> dict[str, Any]:
    [found] = [q for q in body["questions"] if q["question_id"] == qid and q["version"] == version]
    return dict(found)


def _wilson(hits: int, n: int) -> tuple[float, float]:
    """The Wilson interval by its formula, apart from the library's scipy call."""
    z, p = 1.959963984540054, hits / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def _check_rate(got: dict[str, Any], hits: int, n: int) -> None:
    low, high = _wilson(hits, n)
    assert (got["hits"], got["n"]) == (hits, n)
    assert got["rate"] == pytest.approx(hits / n)
    assert (got["ci_low"], got["ci_high"]) == (pytest.approx(low, abs=1e-9), pytest.approx(high, abs=1e-9))


async def test_each_question_version_has_its_figures(hr_server: HrServer, job: str) -> None:
    body = await _analytics(hr_server, job)
    assert body["interviews"] == 2 * ARM and body["unreadable_reports"] == 0
    # q1's wording of plan version 2 and its rewording in version 3; q2, never reworded, keeps version 2 throughout.
    assert [(q["question_id"], q["version"]) for q in body["questions"]] == [("q1", 2), ("q1", 3), ("q2", 2)]
    old, new = _version(body, "q1", 2), _version(body, "q1", 3)
    assert (old["text"], new["text"], old["dimension"]) == (Q1_V1, Q1_V2, "sql")
    s = old["stats"]
    assert s["times_asked"] == ARM
    _check_rate(s["valid_first"], VALID_V1, ARM)
    _check_rate(s["valid_after_follow_up"], VALID_V1 + SHORT, ARM)  # each short answer made whole by its follow-up
    _check_rate(s["follow_ups"], SHORT, ARM)
    _check_rate(s["rephrase_requests"], REPHRASED, ARM)
    _check_rate(s["abandonment"], 0, ARM)
    lengths = [len(words(spec["first"])) for spec in _q1_arm_v1()]
    assert s["median_answer_length"] == statistics.median(lengths)
    _check_rate(new["stats"]["valid_first"], VALID_V2, ARM)
    _check_rate(new["stats"]["follow_ups"], 0, ARM)


async def test_abandonment_is_counted_at_the_question_left(hr_server: HrServer, job: str) -> None:
    q2 = (await _analytics(hr_server, job))["questions"][2]["stats"]
    assert q2["times_asked"] == 2 * ARM  # asked in the abandoned interviews too, never answered there
    _check_rate(q2["abandonment"], ABANDONED_AT_Q2, 2 * ARM)
    _check_rate(q2["valid_first"], 2 * ARM - ABANDONED_AT_Q2, 2 * ARM)  # the STAR answer, where given


async def test_discrimination_is_the_item_rest_correlation(hr_server: HrServer, job: str) -> None:
    body = await _analytics(hr_server, job)
    # With two questions, the rest of q1 is q2's score in the same interview (where q2 was answered).
    pairs = [_scores(k) for k in range(ARM)]
    expected = float(np.corrcoef([p[0] for p in pairs], [p[1] for p in pairs])[0, 1])
    old = _version(body, "q1", 2)["stats"]
    assert old["discrimination_pairs"] == ARM
    assert old["discrimination"] == pytest.approx(expected, abs=1e-9)
    assert old["agreement_kappa"] is None and old["reviewed"] == 0  # no human rated these answers


async def test_the_reworded_version_is_significantly_better(hr_server: HrServer, job: str) -> None:
    [c] = (await _analytics(hr_server, job))["comparisons"]
    assert (c["question_id"], c["version_a"], c["version_b"]) == ("q1", 2, 3)
    got = c["comparison"]
    assert got["difference"] == pytest.approx(0.4)
    assert got["z"] == pytest.approx(3.098, abs=1e-3)
    assert got["p_value"] == pytest.approx(0.00195, abs=5e-5)
    assert got["significant"] is True
    assert (round(got["a"]["ci_low"], 3), round(got["a"]["ci_high"], 3)) == (0.167, 0.479)
    assert (round(got["b"]["ci_low"], 3), round(got["b"]["ci_high"], 3)) == (0.521, 0.833)


async def test_plan_version_and_dates_choose_the_interviews(hr_server: HrServer, job: str) -> None:
    only_v3 = await _analytics(hr_server, job, plan_version="3")
    assert only_v3["plan_version"] == 3 and only_v3["interviews"] == ARM
    assert [(q["question_id"], q["version"]) for q in only_v3["questions"]] == [("q1", 3), ("q2", 2)]
    assert only_v3["comparisons"] == []
    today = dt.datetime.now(dt.UTC).date()
    everything = await _analytics(hr_server, job, **{"from": str(today - dt.timedelta(days=1)), "to": str(today)})
    assert everything["interviews"] == 2 * ARM and everything["start"] == str(today - dt.timedelta(days=1))
    before = await _analytics(hr_server, job, to=str(today - dt.timedelta(days=1)))
    assert before["interviews"] == 0 and before["questions"] == [] and before["comparisons"] == []


async def test_an_unknown_job_is_404(hr_server: HrServer) -> None:
    r = await hr_server.api.get("/v1/jobs/nosuchjob/questions/analytics")
    assert r.status_code == 404, r.text
    assert "nosuchjob" in r.json()["error"]["message"]


async def test_a_date_not_as_yyyy_mm_dd_is_400(hr_server: HrServer, job: str) -> None:
    r = await hr_server.api.get(f"/v1/jobs/{job}/questions/analytics", **{"from": "07/12/2026"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"] == "from: '07/12/2026' is not a date as YYYY-MM-DD"


async def test_from_after_to_is_400(hr_server: HrServer, job: str) -> None:
    r = await hr_server.api.get(f"/v1/jobs/{job}/questions/analytics", **{"from": "2026-06-02", "to": "2026-06-01"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"] == "from (2026-06-02) is after to (2026-06-01)"


async def test_a_plan_version_the_job_lacks_is_404(hr_server: HrServer, job: str) -> None:
    r = await hr_server.api.get(f"/v1/jobs/{job}/questions/analytics", plan_version="9")
    assert r.status_code == 404, r.text
    assert r.json()["error"]["message"] == f"no plan version with id '{job}/9'"


@pytest.mark.parametrize("version", ["two", "0", "2.5"])
async def test_a_plan_version_that_is_not_a_whole_number_from_1_is_400(
    hr_server: HrServer, job: str, version: str
) -> None:
    r = await hr_server.api.get(f"/v1/jobs/{job}/questions/analytics", plan_version=version)
    assert r.status_code == 400, r.text
    assert "plan_version" in r.json()["error"]["message"]


ZH_QUESTION = "请介绍一下你优化慢查询的方法。"
ZH_VALID = "我会先看执行计划，找出全表扫描的地方，然后在客户编号和日期上建立联合索引，再把相关子查询改写成连接，这样每晚的报表读取的数据行会少很多，运行时间也会明显缩短。"
ZH_SHORT = "我会加一个索引。"
ZH_REFUSAL = "不方便透露，因为我在上一家公司做的数据库工作都受保密协议约束，所以这次面试里没办法分享任何细节，希望您能理解这一点。"


async def test_a_chinese_question_counts_characters_and_knows_a_refusal(hr_server: HrServer) -> None:
    body = {
        "title": "数据工程师",
        "description": "数据管道",
        "requirements": ["SQL"],
        "language": "zh",
        "dimensions": [{"name": "sql", "weight": 1.0}],
        "questions": [{"text": ZH_QUESTION, "dimension": "sql"}],
    }
    made = await hr_server.api.post("/v1/jobs", body)
    assert made.status_code == 201, made.text
    job = made.json()["id"]
    for k, answer in enumerate([ZH_VALID, ZH_VALID, ZH_SHORT, ZH_REFUSAL]):
        c = await hr_server.api.post("/v1/candidates", {"name": f"候选人 {k}"})
        iv = await hr_server.api.post("/v1/interviews", {"job_id": job, "candidate_id": c.json()["id"], "mode": "text"})
        iid = iv.json()["id"]
        await hr_server.store.add_turn(iid, Turn(1, "q1", "q1", QuestionKind.MAIN, ZH_QUESTION, answer, None, None))
        await hr_server.store.set_status(iid, InterviewStatus.COMPLETED, reason="completed")
        scored = replace(
            report({"sql": 6.0}),
            answers=(AnswerScore("q1", ZH_QUESTION, "sql", 1, 6.0, _signals(RELEVANT), None),),
            language="zh",
        )
        await hr_server.store.save_report(iid, scored)
    [q1] = (await _analytics(hr_server, job))["questions"]
    assert q1["stats"]["language"] == "zh"
    _check_rate(q1["stats"]["valid_first"], 2, 4)  # the short answer is under 40 characters; the refusal is a refusal
    assert len([c for c in ZH_REFUSAL if c.isalnum()]) >= 40  # long enough: only the refusal rule refuses it


async def test_ai_human_agreement_compares_answer_scores_with_reviewers_ratings_of_the_dimension(
    hr_server: HrServer,
) -> None:
    job_id = await make_job(hr_server.api, "Reviewed role")
    # (q1's answer score, the reviewers' ratings of sql): the score's band against the ratings' median.
    cases = [(2.0, [1]), (4.0, [2]), (6.0, [3, 3]), (8.0, [4]), (8.5, [3]), (3.0, [2, 1, 2]), (6.5, [4, 3]), (5.0, [])]
    ai, human = [], []
    for k, (score, ratings) in enumerate(cases):
        c = await hr_server.api.post("/v1/candidates", {"name": f"Reviewed {k}"})
        iv = await hr_server.api.post(
            "/v1/interviews", {"job_id": job_id, "candidate_id": c.json()["id"], "mode": "text"}
        )
        iid = iv.json()["id"]
        await hr_server.store.add_turn(
            iid, Turn(1, "q1", "q1", QuestionKind.MAIN, "Tell me about your sql work.", VALID, None, None)
        )
        await hr_server.store.set_status(iid, InterviewStatus.COMPLETED, reason="completed")
        stored = replace(
            report({"sql": score}), answers=(_answer_score("q1", "Tell me about your sql work.", score, RELEVANT),)
        )
        await hr_server.store.save_report(iid, stored)
        async with hr_server.store.engine.begin() as conn:
            for n, rating in enumerate(ratings):
                card = {"interview_id": iid, "reviewer_name": f"R{n}", "reviewer_email": f"r{n}@x.example"}
                await conn.execute(
                    insert(ScorecardRow).values(
                        id=f"sc_{iid}_{n}",
                        **card,
                        ratings={"sql": rating, "design": 1},
                        recommendation="yes",
                        created_at=dt.datetime.now(dt.UTC),
                    )
                )
        if ratings:
            ai.append(ai_level(score))
            human.append(human_level(ratings))
    assert ai == [0, 1, 2, 3, 3, 0, 2] and human == [0, 1, 2, 3, 2, 1, 3]  # the bands and medians, by hand

    body = await _analytics(hr_server, job_id)
    q1 = _version(body, "q1", 1)["stats"]
    assert q1["reviewed"] == 7  # the unreviewed interview is left out
    assert q1["agreement_kappa"] == pytest.approx(quadratic_weighted_kappa(ai, human))
    assert 0.5 < q1["agreement_kappa"] < 1
    assert [q["question_id"] for q in body["questions"]] == ["q1"]  # q2 and q3, rated through design, unasked
