"""The worked client of docs/integrators.md §9 (docs/examples/text_interview.py) run as an integrator would run it,
against a real (model-free) server: it must finish the interview and print both views of the report, so the guide's
example cannot go stale against the server again."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

from workflow_testkit import KEY, WorkflowServer, workflow_server

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "text_interview.py"


async def test_the_guides_text_client_completes_an_interview_and_prints_both_reports(
    free_port: Callable[[], int],
) -> None:
    async with workflow_server(WorkflowServer, None, free_port(), ["report.ready"]) as server:
        run = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLE),
            env={**os.environ, "SHANMIAN_URL": server.base, "SHANMIAN_API_KEY": KEY},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(run.communicate(), 120)
    text = out.decode()
    assert run.returncode == 0, err.decode()[-3000:]
    for shown in ("[main 1/2]", "[rephrase 1/2]", "[main 2/2]", "[closing 2/2]", "closed: completed"):
        assert shown in text, text
    assert "the candidate's report: " in text and "\noverall " in text and "-> " in text, text
    assert text.index("the candidate's report") < text.index("closed: completed") < text.index("\noverall "), text
