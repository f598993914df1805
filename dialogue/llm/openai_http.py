"""The remote backend: any server speaking OpenAI's POST /v1/chat/completions (vLLM, llama.cpp, Ollama).

Owns the HTTP client, the request (greedy, seeded, JSON-schema response_format), failures as LLMError.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, Literal

import httpx

from dialogue.llm.base import SEED, TEMPERATURE, ChatMessage, Completion, LLMError, as_openai_messages

SchemaStyle = Literal["json_object", "json_schema"]
_BODY_EXCERPT = 300


class OpenAICompatibleBackend:
    """Chat completions over HTTP.

    Structured calls send the JSON schema in `response_format`, in one of two dialects (`schema_style`):

    - ``"json_object"`` (default): ``{"type": "json_object", "schema": ...}``. llama-cpp-python's
      ``llama_cpp.server`` accepts only this form (it answers the other with HTTP 500, a validation error),
      and llama.cpp's C++ ``llama-server`` enforces the schema given this way too.
    - ``"json_schema"``: OpenAI's ``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}``;
      use it for vLLM, Ollama and OpenAI, which read ``json_object`` as "any JSON" and ignore the schema.

    Either way the caller validates what comes back (`generate_structured`), so a server that ignores the
    schema degrades to a fallback, never to a crash.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 30,
        schema_style: SchemaStyle = "json_object",
    ) -> None:
        self.name = model
        self.model = model
        self.schema_style: SchemaStyle = schema_style
        root = base_url.rstrip("/")
        # Accept both "http://host:8000" and "http://host:8000/v1", as deployments are documented both ways.
        root = root.removesuffix("/v1")
        self.url = f"{root}/v1/chat/completions"
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(timeout=timeout, headers=headers)

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        json_schema: dict[str, Any] | None = None,
        stop: Sequence[str] = (),
    ) -> Completion:
        started = time.perf_counter()
        body: dict[str, Any] = {
            "model": self.model,
            "messages": as_openai_messages(messages),
            "max_tokens": max_tokens,
            "temperature": TEMPERATURE,
            "seed": SEED,
            "stream": False,
        }
        if stop:
            body["stop"] = list(stop)
        if json_schema is not None:
            body["response_format"] = _response_format(self.schema_style, json_schema)
        response = await self._post(body)
        return self._parse(response, started)

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        try:
            return await self._client.post(self.url, json=body)
        except httpx.TimeoutException as exc:
            raise LLMError(f"LLM endpoint {self.url} did not answer within {self.timeout:g}s") from exc
        except httpx.HTTPError as exc:
            # ConnectError and friends: say which URL, as a wrong base_url is the usual cause.
            raise LLMError(f"cannot reach LLM endpoint {self.url}: {type(exc).__name__}: {exc}") from exc

    def _parse(self, response: httpx.Response, started: float) -> Completion:
        if not response.is_success:
            raise LLMError(
                f"LLM endpoint {self.url} answered HTTP {response.status_code}: "
                f"{response.text[:_BODY_EXCERPT]!r}"
            )
        try:
            payload = response.json()
            choice = payload["choices"][0]
            text = choice["message"].get("content") or ""
            if not isinstance(text, str):
                raise TypeError("message.content is not a string")
            usage = payload.get("usage") or {}  # some servers omit usage; the counts are then 0
            return Completion(
                text=text,
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                seconds=time.perf_counter() - started,
                finish_reason=choice.get("finish_reason") or "stop",
            )
        except (json.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
            raise LLMError(
                f"LLM endpoint {self.url} answered a body that is not a chat completion ({exc!r}): "
                f"{response.text[:_BODY_EXCERPT]!r}"
            ) from exc

    async def aclose(self) -> None:
        await self._client.aclose()


def _response_format(style: SchemaStyle, schema: dict[str, Any]) -> dict[str, Any]:
    if style == "json_object":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}}
