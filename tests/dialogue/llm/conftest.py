"""Fixtures for the LLM backend suites: the embedded GGUF, a real llama_cpp.server on loopback, both backends.

The contract suite runs once per backend through the parametrised `backend` fixture.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

import models
from dialogue.llm import LlamaCppBackend, LLMBackend, OpenAICompatibleBackend

SERVER_MODEL_ALIAS = "smollm2-135m-instruct"
SERVER_START_TIMEOUT_S = 90.0


@pytest.fixture
def unused_port(free_port: Callable[[], int]) -> int:
    """A loopback port nothing listens on (free a moment ago)."""
    return free_port()


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    return models.resolve("smollm2-135m-instruct")


@pytest.fixture(scope="session")
def llama_server_url(
    gguf_path: Path, tmp_path_factory: pytest.TempPathFactory, free_port: Callable[[], int]
) -> Iterator[str]:
    """A real OpenAI-compatible server (llama-cpp-python's) serving the embedded model on a free port."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(gguf_path), "--model_alias", SERVER_MODEL_ALIAS,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048", "--n_threads", "2", "--verbose", "False",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"llama_cpp.server exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"{url}/v1/models", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"llama_cpp.server not up after {SERVER_START_TIMEOUT_S}s:\n{log_path.read_text()}"
                )
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session", params=["llama_cpp", "openai"])
async def backend(request: pytest.FixtureRequest, gguf_path: Path) -> AsyncIterator[LLMBackend]:
    impl: LLMBackend
    if request.param == "llama_cpp":
        impl = LlamaCppBackend(gguf_path, n_threads=2)
    else:
        impl = OpenAICompatibleBackend(request.getfixturevalue("llama_server_url"), SERVER_MODEL_ALIAS)
    yield impl
    await impl.aclose()
