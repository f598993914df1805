"""What the audit chain's tests share: the databases they run on, settings for one, the `shanmian` CLI as a process
of its own, and a fixed clock."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
NO_ANCHOR = Path("/nonexistent/audit-anchor.jsonl")  # the CLI's default: the chain alone, no anchor file


def settings_for(url: str, **overrides: Any) -> Settings:
    return Settings.from_env({}, api_key="k", database_url=url, **overrides)


async def cli(database_url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """`shanmian <args>` as a process of its own; its exit status and its output (stdout and stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "SHANMIAN_API_KEY": "k",
            "SHANMIAN_AUDIT_ANCHOR": str(NO_ANCHOR),
            **(env or {}),
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode()


def fixed(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment
