"""The in-process backend: any GGUF run by llama-cpp-python, loaded once, run by one 1-worker executor.

Owns model loading, the chat template (the GGUF's own), JSON-schema grammars and keeping the event loop free.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import llama_cpp
import numpy as np

from dialogue.llm.base import SEED, TEMPERATURE, ChatMessage, Completion, LLMError, as_openai_messages

log = logging.getLogger(__name__)


class LlamaCppBackend:
    """llama.cpp in this process. Construction loads the model (blocking, once, at start-up)."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int = 2048,
        n_threads: int = 2,
        executor: Executor | None = None,
    ) -> None:
        path = Path(model_path)
        self.model_path = path
        self.name = path.name
        if not path.is_file():
            raise LLMError(f"GGUF model file not found: {path} (configure an existing .gguf file)")
        try:
            # verbose=False keeps llama.cpp's load and timing chatter off stderr; chat_format=None makes
            # llama-cpp-python use the chat template stored in the GGUF, so any instruct model just works.
            self._llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                seed=SEED,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise LLMError(f"cannot load GGUF model {path}: {exc}") from exc
        # A llama context is not thread-safe: one worker runs every call, so concurrent sessions queue here
        # instead of corrupting the KV cache or thrashing the cores. The lock keeps that true even when the
        # caller hands in a shared executor with more workers.
        self._owns_executor = executor is None
        self._executor: Executor = executor or ThreadPoolExecutor(1, thread_name_prefix="llama-cpp")
        self._lock = threading.Lock()
        self._closed = False
        log.info("loaded GGUF %s (n_ctx=%d, n_threads=%d)", path, n_ctx, n_threads)

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        json_schema: dict[str, Any] | None = None,
        stop: Sequence[str] = (),
    ) -> Completion:
        if self._closed:
            raise LLMError(f"llama.cpp backend for {self.model_path} is closed")
        started = time.perf_counter()
        cancelled = threading.Event()
        call = functools.partial(
            self._complete_blocking, list(messages), max_tokens, json_schema, list(stop), cancelled
        )
        try:
            text, prompt_tokens, completion_tokens, finish = await asyncio.get_running_loop().run_in_executor(
                self._executor, call
            )
        except asyncio.CancelledError:
            # A caller that gave up (a timeout, a candidate who spoke on) must not leave the single worker
            # generating for nobody while the next session's call waits behind it.
            cancelled.set()
            raise
        return Completion(text, prompt_tokens, completion_tokens, time.perf_counter() - started, finish)

    def _complete_blocking(
        self,
        messages: list[ChatMessage],
        max_tokens: int,
        json_schema: dict[str, Any] | None,
        stop: list[str],
        cancelled: threading.Event,
    ) -> tuple[str, int, int, str]:
        if cancelled.is_set():
            return "", 0, 0, "cancelled"
        kwargs: dict[str, Any] = {}
        if json_schema is not None:
            # llama-cpp-python turns this into a GBNF grammar, so even a 135M model emits parseable JSON.
            kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
        with self._lock:
            try:
                # The sampler is rebuilt from `seed` on every call, so a call's output does not depend on
                # what ran before it.
                response = cast(
                    dict[str, Any],
                    self._llama.create_chat_completion(
                        messages=cast(Any, as_openai_messages(messages)),
                        max_tokens=max_tokens,
                        temperature=TEMPERATURE,
                        seed=SEED,
                        stop=stop or None,
                        logits_processor=llama_cpp.LogitsProcessorList([self._end_when(cancelled)]),
                        **kwargs,
                    ),
                )
            except (ValueError, RuntimeError) as exc:  # context overflow, bad grammar, decode failure
                raise LLMError(f"llama.cpp failed on {self.name}: {exc}") from exc
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return (
            choice["message"].get("content") or "",
            int(usage.get("prompt_tokens", 0)),
            int(usage.get("completion_tokens", 0)),
            choice.get("finish_reason") or "stop",
        )

    def _end_when(self, cancelled: threading.Event) -> Callable[[Any, Any], Any]:
        """A logits processor that leaves only end-of-text once the caller has gone, ending generation."""
        eos = self._llama.token_eos()

        def process(_input_ids: Any, scores: Any) -> Any:
            if cancelled.is_set():
                scores[:] = -np.inf
                scores[eos] = 0.0
            return scores

        return process

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Wait (off the loop) for a call still running before freeing the model under it.
        await asyncio.get_running_loop().run_in_executor(self._executor, self._free)
        if self._owns_executor:
            self._executor.shutdown(wait=False)

    def _free(self) -> None:
        with self._lock:
            self._llama.close()
