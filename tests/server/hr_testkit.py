"""A real server without models for the HR analytics tests, and synthetic interviews of known structure: jobs,
candidates and interviews made over REST, reports stored as the scorer would store them, outcomes over REST."""

from __future__ import annotations

import math
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from litestar import Litestar
from server_testkit import Api, start_server, stop_server

from dialogue.report import (
    DimensionScore,
    DimensionStatus,
    Report,
    ScorerInfo,
    band,
    recommend,
)
from server.db.status import InterviewStatus
from server.db.store import Store
from server.runtime import Runtime
from server.settings import Settings

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
WEIGHTS = {"sql": 0.4, "design": 0.3, "communication": 0.3}
# Sample correlations of each dimension's score with performance, exact by construction (see `known_structure`).
TRUE_R = {"sql": 0.5, "design": 0.2, "communication": 0.0}
PASS_THRESHOLD = 6.0


@dataclass
class HrServer:
    api: Api
    store: Store  # the server's own store: reports are written as the scorer writes them

    def api_client(self) -> httpx.AsyncClient:
        """A client with the HR key, for requests Api does not make (headers of one's own, raw bodies)."""
        return httpx.AsyncClient(
            base_url=self.api.base, headers={"Authorization": f"Bearer {self.api.key}"}, timeout=60
        )


@pytest.fixture(scope="module", params=DATABASES)
def hr_database_url(request: pytest.FixtureRequest) -> str | None:
    """The session's throwaway PostgreSQL, or None: SQLite in the server's data folder."""
    return str(request.getfixturevalue("postgres_database")) if request.param == "postgres" else None


@pytest.fixture(scope="module")
async def hr_server(hr_database_url: str | None, free_port: Any) -> AsyncIterator[HrServer]:
    """A real server on a loopback port, on SQLite and on a real PostgreSQL; no models (none are needed here)."""
    database_url = hr_database_url
    with tempfile.TemporaryDirectory(prefix="shanmian-hr-") as data:
        settings = Settings.from_env(
            {},
            api_key="hr-test-key",
            port=free_port(),
            data_dir=Path(data),
            database_url=database_url,
            voice=False,
            llm_backend="none",
            score_backend="none",
            plan_model="none",
            rate_limit_per_minute=1_000_000,
            stream_handshakes_burst=1_000_000,  # the limit itself: tests/security/test_security_stream_rates.py
        )
        server, task = await start_server(settings, Runtime(settings))
        app = server.config.app
        assert isinstance(app, Litestar)
        try:
            yield HrServer(Api(f"http://127.0.0.1:{settings.port}", settings.api_key), app.state.services.store)
        finally:
            await stop_server(server, task)


def job_body(title: str = "Data engineer") -> dict[str, Any]:
    return {
        "title": title,
        "description": "Pipelines and APIs",
        "requirements": ["SQL", "System design", "Communication"],
        "pass_threshold": PASS_THRESHOLD,
        "dimensions": [{"name": name, "weight": w} for name, w in WEIGHTS.items()],
        "questions": [{"text": f"Tell me about your {name} work.", "dimension": name} for name in WEIGHTS],
    }


def report(scores: Mapping[str, float], weights: Mapping[str, float] = WEIGHTS, plan_version: int = 1) -> Report:
    """A report as the scorer writes one: per-dimension scores, their weighted overall and its recommendation."""
    overall = round(sum(s * weights[name] for name, s in scores.items()) / sum(weights[n] for n in scores), 1)
    return Report(
        overall=overall,
        recommendation=recommend(overall, PASS_THRESHOLD),
        needs_human_review=False,
        dimensions=tuple(
            DimensionScore(name, weights[name], DimensionStatus.SCORED, s, band(s), (), "synthetic", (), ())
            for name, s in scores.items()
        ),
        answers=(),
        strengths=(),
        weaknesses=(),
        suggestions=(),
        scored_by="synthetic",
        scorer=ScorerInfo("none", None, "test"),
        pass_threshold=PASS_THRESHOLD,
        language="en",
        answered_questions=len(scores),
        total_questions=len(scores),
        plan_version=plan_version,
    )


def known_structure(n: int, seed: int) -> tuple[list[dict[str, float]], list[float]]:
    """n hires' dimension scores (0-10 scale) and performance whose sample correlations are exactly TRUE_R.

    Orthonormal centred columns from a QR decomposition: performance is a unit-length mix of the dimensions' columns
    and one more, so each dimension's sample r with it is its coefficient, with no sampling error to allow for."""
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((n, len(TRUE_R) + 1))
    q, _ = np.linalg.qr(raw - raw.mean(axis=0))
    columns = dict(zip(TRUE_R, q.T[1:], strict=True))
    rest = math.sqrt(1 - sum(r * r for r in TRUE_R.values()))
    performance = rest * q[:, 0] + sum(r * columns[name] for name, r in TRUE_R.items())
    scale = math.sqrt(n - 1)  # unit-length columns to unit standard deviation
    scores = [{name: 6.0 + 1.2 * scale * float(col[i]) for name, col in columns.items()} for i in range(n)]
    return scores, [3.0 + 0.8 * scale * float(p) for p in performance]


async def make_job(api: Api, title: str = "Data engineer") -> str:
    j = await api.post("/v1/jobs", job_body(title))
    assert j.status_code == 201, j.text
    return str(j.json()["id"])


async def scored_interviews(hr: HrServer, job_id: str, scores: Sequence[Mapping[str, float]]) -> list[tuple[str, str]]:
    """One candidate and one completed interview per score set, each with its stored report; (candidate, interview)."""
    made = []
    for k, dimension_scores in enumerate(scores):
        c = await hr.api.post("/v1/candidates", {"name": f"Candidate {k}"})
        assert c.status_code == 201, c.text
        iv = await hr.api.post("/v1/interviews", {"job_id": job_id, "candidate_id": c.json()["id"], "mode": "text"})
        assert iv.status_code == 201, iv.text
        iid = iv.json()["id"]
        await hr.store.set_status(iid, InterviewStatus.COMPLETED, reason="completed")
        await hr.store.save_report(iid, report(dimension_scores))
        made.append((str(c.json()["id"]), str(iid)))
    return made


def outcome_csv(rows: Sequence[tuple[str, float, str, bool]]) -> bytes:
    lines = ["interview_id,score,rated_at,rater_saw_interview_scores"]
    lines += [f"{iid},{score!r},{day},{'yes' if saw else 'no'}" for iid, score, day, saw in rows]
    return ("\n".join(lines) + "\n").encode()


async def post_csv(api: Api, body: bytes, content_type: str = "text/csv") -> Any:
    async with httpx.AsyncClient(base_url=api.base, timeout=60) as c:
        return await c.post(
            "/v1/outcomes.csv",
            content=body,
            headers={"Authorization": f"Bearer {api.key}", "Content-Type": content_type},
        )
