"""The suite's own settings: every test runs under a timeout, and a hung async test fails instead of hanging."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_runs_under_a_timeout(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.hasplugin("timeout"), "install the test extras (pytest-timeout)"
    assert 60 <= float(pytestconfig.getini("timeout")) <= 300


def test_a_hung_async_test_fails_with_a_timeout(tmp_path: Path) -> None:
    # The project's own ini (asyncio mode, session loop), with only the timeout shortened.
    (tmp_path / "test_hang.py").write_text("import asyncio\n\n\nasync def test_hangs():\n    await asyncio.Event().wait()\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(tmp_path), "-o", "timeout=1", str(tmp_path / "test_hang.py")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Timeout (>1.0s)" in run.stdout and "1 failed" in run.stdout, run.stdout
