"""The contract every language-model backend meets: chat messages in, a timed `Completion` out.

Owns `ChatMessage`, `Completion`, the `LLMBackend` protocol, `LLMError` and the fixed decoding settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]

# Decoding is greedy (temperature 0) so the same interview turn words the same follow-up on every run;
# the seed is fixed as well because some servers still draw from their RNG at temperature 0.
TEMPERATURE = 0.0
SEED = 42


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float  # wall time of the call as the caller saw it, queueing included
    # "stop" when the model finished, "length" when max_tokens cut it off (a structured answer cut off is
    # not valid JSON); whatever else the backend reports is passed through.
    finish_reason: str = "stop"


class LLMError(RuntimeError):
    """The model could not answer: unreachable endpoint, HTTP error, timeout, bad body, unloadable model.

    The message names what failed (the URL or the model path) so an operator can act on it.
    """


@runtime_checkable
class LLMBackend(Protocol):
    name: str  # the model's name as reports show it ("scored_by")

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        json_schema: dict[str, Any] | None = None,
        stop: Sequence[str] = (),
    ) -> Completion:
        """Answer the chat; under `json_schema` the text is constrained to JSON of that schema where the
        backend supports it. Raises `LLMError` on any transport or model failure."""
        ...

    async def aclose(self) -> None:
        """Release the model or connection; the backend is unusable afterwards."""
        ...


def as_openai_messages(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    """The wire shape shared by llama-cpp-python and every OpenAI-compatible server."""
    return [{"role": m.role, "content": m.content} for m in messages]
