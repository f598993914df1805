"""What the voice benchmarks share: a real server process, the reference candidate client, CPU accounting.

Not a test helper: the benchmarks print figures; nothing here asserts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CLIENT = SHARED / "tools" / "interview_client.py"
FIXTURES = SHARED / "fixtures" / "interviews"
KEY = "bench-key"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def reference_client() -> Any:
    """The reference candidate client as a module: benchmarks score transcripts with its own error_rate."""
    spec = importlib.util.spec_from_file_location("interview_client", CLIENT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))], 3)


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    load = os.getloadavg()
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, load avg {load[0]:.1f} at start"


@dataclass
class Server:
    base: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process (all its threads) so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@contextmanager
def server(**env: str) -> Iterator[Server]:
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        full_env = dict(
            os.environ,
            SHANMIAN_API_KEY=KEY,
            SHANMIAN_DATA_DIR=data,
            SHANMIAN_LOG_LEVEL="WARNING",
            # Every simulated candidate connects from this one address; the per-address limit is for the internet.
            SHANMIAN_STREAM_HANDSHAKES_BURST="1000000",
            **env,
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=full_env,
            stdout=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        break
                except OSError:
                    if proc.poll() is not None:
                        raise RuntimeError("the server exited during start-up") from None
                    time.sleep(0.3)
            yield Server(base, proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def run_client(srv: Server, fixtures: Path, *extra: str) -> dict[str, Any]:
    """The reference candidate client (real time, voice unless `--text`); its full JSON summary."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [
                sys.executable,
                str(CLIENT),
                "--base",
                srv.base,
                "--api-key",
                KEY,
                "--fixtures",
                str(fixtures),
                "--out",
                out.name,
                *extra,
            ],
            check=False,
            stdout=subprocess.DEVNULL,
        )
        return json.loads(Path(out.name).read_text() or "{}")


def audio_seconds(summary: dict[str, Any], fixtures: Path) -> float:
    """Seconds of speech the client played across all sessions (the clips it answered with)."""
    manifest = json.loads((fixtures / "manifest.json").read_text())
    seconds = {c["id"]: c.get("seconds", 0.0) for c in manifest["clips"]}
    return sum(seconds.get(t["clip"], 0.0) for run in summary.get("runs", []) for t in run.get("turns", []))
