"""Helpers for the web pages' end-to-end tests: finding Debian's Chromium, the fake-microphone WAV, screenshots.

Without /usr/bin/chromium (or SHANMIAN_CHROMIUM) the tests skip with a how-to; with SHANMIAN_REQUIRE_SERVICES=1
(CI, where .ci/install-browser runs first) they fail instead, so a green CI means a real browser ran them.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path
from typing import Any

import numpy as np
from services_testkit import unavailable

CHROMIUM = Path(os.environ.get("SHANMIAN_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "web"
HOW_TO = "install Debian's browser with: sudo .ci/install-browser (apt-get install chromium)"
# Headless, quiet, and never reaching out: no updates, sync, QUIC or first-run pages.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def require_chromium() -> Path:
    """Chromium's path and Playwright importable, else skip (laptop) or fail (SHANMIAN_REQUIRE_SERVICES=1)."""
    problem = None
    if not CHROMIUM.exists():
        problem = f"Chromium is not installed at {CHROMIUM}; {HOW_TO}"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            problem = "the playwright Python package is missing: .venv/bin/pip install playwright (no browser download)"
    if problem is not None:
        unavailable(problem)
    return CHROMIUM


def fake_microphone_wav(
    answer: Path, out: Path, *, lead_s: float = 4.0, tail_s: float = 900.0, noise: float = 0.0005
) -> Path:
    """The answer between quiet lead-in and a long quiet tail (Chromium's fake microphone loops the file).

    The tail outlasts a test's timeout, so the answer is spoken once: on a slow machine a shorter loop spoke it again
    while the test was typing the later answers, and the interviewer (rightly) took that as a new turn.

    The lead-in covers the page's start-up (the device starts playing when the microphone is opened); the faint
    noise keeps the level meter and the audio processing honest without ever sounding like speech to the VAD.
    """
    with wave.open(str(answer)) as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        assert (channels, width) == (1, 2), "fixtures are mono 16-bit"
        speech = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    rng = np.random.default_rng(7)

    def quiet(seconds: float) -> np.ndarray:
        return (rng.normal(0.0, noise, int(seconds * rate)) * 32767).astype("<i2")

    pcm = np.concatenate([quiet(lead_s), speech, quiet(tail_s)])
    out.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return out


async def shot(page: Any, name: str) -> Path:
    """A full-page screenshot under artifacts/web/ (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def launch_chromium(playwright: Any, chromium_path: Path, extra: list[str] | None = None) -> Any:
    """Headless Chromium; Playwright gives each launch a fresh temporary profile (user-data-dir)."""
    return await playwright.chromium.launch(
        executable_path=str(chromium_path), headless=True, args=[*CHROMIUM_ARGS, *(extra or [])]
    )
