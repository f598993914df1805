"""Language-model backends behind one protocol: llama.cpp in process or an OpenAI-compatible HTTP endpoint.

`build_backend` picks one from configuration; `generate_structured` gets validated JSON from either.
llama.cpp is imported only when its backend is first named, so the HTTP backend and pure logic never load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dialogue.llm.base import SEED, TEMPERATURE, ChatMessage, Completion, LLMBackend, LLMError
from dialogue.llm.openai_http import OpenAICompatibleBackend, SchemaStyle
from dialogue.llm.structured import (
    capped_string_schema,
    generate_structured,
    object_schema,
    parse_json_lenient,
    score_schema,
)

if TYPE_CHECKING:
    from dialogue.llm.llama_cpp import LlamaCppBackend

BACKEND_KINDS = ("llama_cpp", "openai")

__all__ = [
    "BACKEND_KINDS",
    "SEED",
    "TEMPERATURE",
    "ChatMessage",
    "Completion",
    "LLMBackend",
    "LLMError",
    "LlamaCppBackend",
    "OpenAICompatibleBackend",
    "SchemaStyle",
    "build_backend",
    "capped_string_schema",
    "generate_structured",
    "object_schema",
    "parse_json_lenient",
    "score_schema",
]


def __getattr__(name: str) -> Any:
    if name == "LlamaCppBackend":
        from dialogue.llm.llama_cpp import LlamaCppBackend

        return LlamaCppBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_backend(
    kind: str,
    *,
    model: str,
    base_url: str | None = None,
    api_key: str | None = None,
    n_threads: int = 2,
    n_ctx: int = 2048,
    timeout: float = 30,
    schema_style: SchemaStyle = "json_object",
) -> LLMBackend:
    """The backend configuration asks for.

    kind "llama_cpp": `model` is a GGUF path (loaded now, blocking); kind "openai": `model` is the model's
    name at `base_url` (`schema_style` "json_schema" for vLLM, Ollama, OpenAI; see OpenAICompatibleBackend).
    Raises LLMError naming what to fix.
    """
    if kind == "llama_cpp":
        from dialogue.llm.llama_cpp import LlamaCppBackend

        return LlamaCppBackend(model, n_ctx=n_ctx, n_threads=n_threads)
    if kind == "openai":
        if not base_url:
            raise LLMError("the 'openai' LLM backend needs a base_url (e.g. http://127.0.0.1:8080/v1)")
        return OpenAICompatibleBackend(
            base_url, model, api_key=api_key, timeout=timeout, schema_style=schema_style
        )
    raise LLMError(f"unknown LLM backend kind {kind!r}: expected one of {', '.join(BACKEND_KINDS)}")
