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
import threading
import time
import urllib.request
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


def _client_command(srv: Server, fixtures: Path, out: str, extra: tuple[str, ...]) -> list[str]:
    where = ["--base", srv.base, "--api-key", KEY, "--fixtures", str(fixtures), "--out", out]
    return [sys.executable, str(CLIENT), *where, *extra]


def run_client(srv: Server, fixtures: Path, *extra: str) -> dict[str, Any]:
    """The reference candidate client (real time, voice unless `--text`); its full JSON summary."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(_client_command(srv, fixtures, out.name, extra), check=False, stdout=subprocess.DEVNULL)
        return json.loads(Path(out.name).read_text() or "{}")


def run_staggered(srv: Server, fixtures: Path, n: int, over_s: float, *extra: str) -> dict[str, Any]:
    """`n` reference clients of one session each, the k-th started k/n of `over_s` after the first (candidates who
    open their links at different moments); one summary of them all, in the client's own shape."""
    with tempfile.TemporaryDirectory() as folder:
        outs = [str(Path(folder) / f"{k}.json") for k in range(n)]
        started = time.monotonic()
        procs = []
        for k, out in enumerate(outs):
            time.sleep(max(0.0, started + k * over_s / n - time.monotonic()))
            command = _client_command(srv, fixtures, out, ("--sessions", "1", *extra))
            procs.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))
        for proc in procs:
            proc.wait()
        parts = [json.loads(Path(out).read_text() or "{}") if Path(out).exists() else {} for out in outs]
    wers = [p["wer_mean"] for p in parts if p.get("wer_mean") is not None]
    return {
        "sessions": n,
        "completed": sum(p.get("completed", 0) for p in parts),
        "cut_offs": sum(p.get("cut_offs", 0) for p in parts),
        "wer_mean": round(sum(wers) / len(wers), 3) if wers else None,
        "runs": [r for p in parts for r in p.get("runs", [])],
    }


class ServerWatch:
    """Samples a server in a thread of its own: its resident memory (VmRSS) every `period_s`, and its event loop's
    stall gauge from `/metrics` every `stall_every_s` (the gauge holds the worst of the last 10-20 s, so nothing is
    missed between scrapes). `peak_mb` and `worst_stall_s` are the most seen since the last `reset()`."""

    def __init__(self, srv: Server, period_s: float = 0.2, stall_every_s: float = 4.0) -> None:
        self._path = Path(f"/proc/{srv.pid}/status")
        self._metrics = urllib.request.Request(srv.base + "/metrics", headers={"Authorization": f"Bearer {KEY}"})
        self._period_s = period_s
        self._stall_every = max(1, round(stall_every_s / period_s))
        self.peak_mb = 0.0
        self.worst_stall_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def stall_s(self) -> float:
        with urllib.request.urlopen(self._metrics, timeout=10) as answer:
            for line in answer.read().decode().splitlines():
                if line.startswith("shanmian_event_loop_stall_seconds "):
                    return float(line.split()[1])
        return 0.0

    def now_mb(self) -> float:
        for line in self._path.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def reset(self) -> None:
        self.peak_mb = self.now_mb()
        self.worst_stall_s = 0.0

    def _run(self) -> None:
        ticks = 0
        while not self._stop.wait(self._period_s):
            ticks += 1
            try:
                self.peak_mb = max(self.peak_mb, self.now_mb())
                if ticks % self._stall_every == 0:
                    self.worst_stall_s = max(self.worst_stall_s, self.stall_s())
            except OSError:  # the server exited
                return

    def __enter__(self) -> ServerWatch:
        self.reset()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def audio_seconds(summary: dict[str, Any], fixtures: Path) -> float:
    """Seconds of speech the client played across all sessions (the clips it answered with)."""
    manifest = json.loads((fixtures / "manifest.json").read_text())
    seconds = {c["id"]: c.get("seconds", 0.0) for c in manifest["clips"]}
    return sum(seconds.get(t["clip"], 0.0) for run in summary.get("runs", []) for t in run.get("turns", []))
