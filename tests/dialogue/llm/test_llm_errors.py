"""Failures surface as LLMError with a message naming what failed: endpoint, HTTP status, body, model path.

The misbehaving endpoints are small local HTTP servers; the 500 also comes from the real llama_cpp.server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialogue.llm import (
    ChatMessage,
    LlamaCppBackend,
    LLMError,
    OpenAICompatibleBackend,
    build_backend,
    generate_structured,
    object_schema,
    score_schema,
)

HELLO = [ChatMessage("user", "Say hello.")]
Serve = Callable[["CannedEndpoint"], Awaitable[str]]


@dataclass
class CannedEndpoint:
    """An HTTP/1.1 server on loopback that answers every request with one canned response (or never)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    hang: bool = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            ),
            0,
        )
        await reader.readexactly(length)
        if self.hang:
            await self.release.wait()
        else:
            writer.write(
                f"HTTP/1.1 {self.status} X\r\nContent-Type: {self.content_type}\r\n"
                f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n".encode()
                + self.body
            )
            await writer.drain()
        writer.close()

    def __post_init__(self) -> None:
        self.release = asyncio.Event()


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[tuple[asyncio.Server, CannedEndpoint]] = []

    async def start(endpoint: CannedEndpoint) -> str:
        server = await asyncio.start_server(endpoint.handle, "127.0.0.1", 0)
        servers.append((server, endpoint))
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"

    yield start
    for server, endpoint in servers:
        endpoint.release.set()
        server.close()
        await server.wait_closed()


async def test_unreachable_endpoint_names_the_url(unused_port: int) -> None:
    backend = OpenAICompatibleBackend(f"http://127.0.0.1:{unused_port}", "m", timeout=5)
    with pytest.raises(
        LLMError, match=r"cannot reach LLM endpoint http://127\.0\.0\.1:\d+/v1/chat/completions"
    ):
        await backend.complete(HELLO, max_tokens=4)
    await backend.aclose()


async def test_http_500_is_an_llm_error_with_the_status_and_body(serve: Serve) -> None:
    url = await serve(CannedEndpoint(500, b'{"error": "model crashed"}'))
    backend = OpenAICompatibleBackend(url, "m")
    with pytest.raises(LLMError, match=r"answered HTTP 500.*model crashed"):
        await backend.complete(HELLO, max_tokens=4)
    await backend.aclose()


async def test_a_body_that_is_not_json_is_an_llm_error(serve: Serve) -> None:
    url = await serve(CannedEndpoint(200, b"<html>proxy login</html>", "text/html"))
    backend = OpenAICompatibleBackend(url, "m")
    with pytest.raises(LLMError, match=r"not a chat completion.*proxy login"):
        await backend.complete(HELLO, max_tokens=4)
    await backend.aclose()


async def test_json_without_choices_is_an_llm_error(serve: Serve) -> None:
    url = await serve(CannedEndpoint(200, b'{"object": "list", "data": []}'))
    backend = OpenAICompatibleBackend(url, "m")
    with pytest.raises(LLMError, match="not a chat completion"):
        await backend.complete(HELLO, max_tokens=4)
    await backend.aclose()


async def test_a_silent_endpoint_times_out_as_an_llm_error(serve: Serve) -> None:
    url = await serve(CannedEndpoint(hang=True))
    backend = OpenAICompatibleBackend(url, "m", timeout=0.5)
    with pytest.raises(LLMError, match=r"did not answer within 0\.5s"):
        await backend.complete(HELLO, max_tokens=4)
    await backend.aclose()


async def test_real_server_500_on_a_response_format_it_rejects(llama_server_url: str) -> None:
    # llama_cpp.server only knows {"type": "json_object", "schema": ...}; OpenAI's dialect gets a 500.
    backend = OpenAICompatibleBackend(llama_server_url, "smollm2-135m-instruct", schema_style="json_schema")
    schema = object_schema({"score": score_schema()})
    with pytest.raises(LLMError, match=r"answered HTTP 500.*json_object"):
        await backend.complete(HELLO, max_tokens=8, json_schema=schema)
    # ...and generate_structured turns that into "no answer", for the caller's fallback.
    assert await generate_structured(backend, HELLO, schema, dict, max_tokens=8) is None
    await backend.aclose()


async def test_a_missing_model_path_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(LLMError, match=str(missing)):
        LlamaCppBackend(missing)


async def test_a_file_that_is_not_a_gguf_is_named(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model" * 100)
    with pytest.raises(LLMError, match=rf"cannot load GGUF model {junk}"):
        LlamaCppBackend(junk)


async def test_a_closed_llama_backend_refuses_calls(gguf_path: Path) -> None:
    backend = LlamaCppBackend(gguf_path)
    await backend.aclose()
    await backend.aclose()  # idempotent
    with pytest.raises(LLMError, match="closed"):
        await backend.complete(HELLO, max_tokens=4)


async def test_build_backend_picks_and_checks_the_kind(gguf_path: Path) -> None:
    local = build_backend("llama_cpp", model=str(gguf_path), n_threads=1)
    assert isinstance(local, LlamaCppBackend)
    assert local.name == gguf_path.name
    await local.aclose()
    remote = build_backend("openai", model="qwen2.5-7b", base_url="http://127.0.0.1:9/v1/", api_key="k")
    assert isinstance(remote, OpenAICompatibleBackend)
    assert remote.url == "http://127.0.0.1:9/v1/chat/completions"
    assert remote.name == "qwen2.5-7b"
    await remote.aclose()
    with pytest.raises(LLMError, match="needs a base_url"):
        build_backend("openai", model="x", base_url=None)
    with pytest.raises(LLMError, match="unknown LLM backend kind 'gpt'"):
        build_backend("gpt", model="x")
