"""Token log-probabilities from a language model: how expected each measured word was, and what comes next.

Owns the `TokenScorer` protocol and its two backends (llama.cpp in process, an OpenAI-compatible `/v1/completions`
endpoint with `logprobs`). Scoring reads probabilities instead of generating text: one forward pass, no sampling,
so the same prompt gives the same numbers.

A prompt is a sequence of `Piece`s. Only `PROMPT` pieces may contain special tokens (`<|im_start|>`); `DATA` and
`MEASURED` pieces (candidate words, questions) are tokenised as plain text, so a candidate cannot open a new turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import httpx
import numpy as np

from dialogue.llm.base import SEED, LLMError


class PieceKind(enum.Enum):
    PROMPT = "prompt"  # our own text: special tokens allowed
    DATA = "data"  # someone else's words: plain text only
    MEASURED = "measured"  # plain text whose tokens' log-probabilities are returned


@dataclass(frozen=True, slots=True)
class Piece:
    text: str
    kind: PieceKind = PieceKind.PROMPT
    # A MEASURED piece read only as far as its first `max_tokens` tokens (it must be the prompt's last piece):
    # a scorer that tokenises locally evaluates no more; one that cannot (a server) reads it all, and callers take
    # the first `max_tokens` values either way.
    max_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class TokenScores:
    """Per MEASURED piece (in order), each token's log-probability given everything before it; and the
    log-probability of each asked next token after the whole prompt."""

    measured: tuple[tuple[float, ...], ...]
    next_token: tuple[tuple[str, float], ...]
    prompt_tokens: int  # tokens actually evaluated (a cached prefix is not counted)
    seconds: float

    def next_logprob(self, token: str) -> float:
        return dict(self.next_token)[token]


@runtime_checkable
class TokenScorer(Protocol):
    name: str  # the model as reports name it
    model_sha256: str | None  # the weights' checksum where known (embedded models), for the report

    async def score(self, pieces: Sequence[Piece], *, next_tokens: Sequence[str] = ()) -> TokenScores:
        """Evaluate the prompt once. Raises `LLMError` on any transport or model failure."""
        ...

    async def aclose(self) -> None: ...


def _lower_priority(niceness: int) -> None:
    """Lower this thread's CPU priority (Linux keeps a nice value per thread)."""
    # Not permitted, or not Linux: it runs at normal priority.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


def _log_softmax_at(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """log p(target_i) under each row of logits, in float64 for stable sums."""
    rows = logits.astype(np.float64)
    top = rows.max(axis=1, keepdims=True)
    norm = np.log(np.exp(rows - top).sum(axis=1)) + top[:, 0]
    picked: np.ndarray = rows[np.arange(len(targets)), targets] - norm
    return picked


class LlamaCppTokenScorer:
    """A GGUF in this process, its logits kept for every position. One worker runs all calls: a llama context
    is not thread-safe, and consecutive prompts sharing a prefix (the rubric) reuse its cached evaluation."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int = 2048,
        n_threads: int = 2,
        threads_now: Callable[[], int] | None = None,
        model_sha256: str | None = None,
        niceness: int = 10,
    ) -> None:
        import llama_cpp  # imported here: a server that never scores with a model does not need it

        path = Path(model_path)
        if not path.is_file():
            raise LLMError(f"GGUF model file not found: {path} (configure an existing .gguf file)")
        self.name = path.name
        self.model_path = path
        self.model_sha256 = model_sha256
        try:
            self._llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                logits_all=True,
                seed=SEED,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise LLMError(f"cannot load GGUF model {path}: {exc}") from exc
        self.n_ctx = n_ctx
        # How many threads the next read may use (the server gives more while the cores are otherwise idle).
        self._threads_now = threads_now or (lambda: n_threads)
        self._threads = n_threads
        # Scoring waits for no one: its worker thread (and the threads llama.cpp starts from it, which inherit
        # the value) runs at a lower priority than speech recognition and question wording.
        self._executor = ThreadPoolExecutor(
            1, thread_name_prefix="llama-score", initializer=_lower_priority, initargs=(niceness,)
        )
        self._lock = threading.Lock()
        self._closed = False

    def _tokens(self, piece: Piece) -> list[int]:
        special = piece.kind is PieceKind.PROMPT
        return list(self._llama.tokenize(piece.text.encode("utf-8"), add_bos=False, special=special))

    def _single_token(self, text: str) -> int:
        ids = self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        if len(ids) != 1:
            raise LLMError(f"{text!r} is {len(ids)} tokens for {self.name}; next-token scores need one")
        return int(ids[0])

    async def score(self, pieces: Sequence[Piece], *, next_tokens: Sequence[str] = ()) -> TokenScores:
        if self._closed:
            raise LLMError(f"llama.cpp scorer for {self.model_path} is closed")
        call = functools.partial(self._score_blocking, list(pieces), list(next_tokens))
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def _score_blocking(self, pieces: list[Piece], next_tokens: list[str]) -> TokenScores:
        started = time.perf_counter()
        tokens: list[int] = []
        spans: list[tuple[int, int]] = []
        starts: list[int] = []
        for piece in pieces:
            ids = self._tokens(piece)[: piece.max_tokens]
            starts.append(len(tokens))
            if piece.kind is PieceKind.MEASURED:
                spans.append((len(tokens), len(tokens) + len(ids)))
            tokens += ids
        if not tokens:
            raise LLMError("nothing to score: the prompt is empty")
        if len(tokens) > self.n_ctx:
            raise LLMError(f"prompt of {len(tokens)} tokens exceeds the context of {self.n_ctx}")
        wanted = [self._single_token(t) for t in next_tokens]
        # The prompt is always evaluated in the same chunks (the first piece, the pieces up to the last, the last),
        # and a cached evaluation is reused only at a chunk's end: llama.cpp's arithmetic differs slightly with
        # how tokens are batched, and the same prompt must give the same numbers whatever ran before it.
        bounds = sorted({b for b in (starts[1] if len(starts) > 1 else 0, starts[-1], len(tokens)) if b > 0})
        llama = self._llama
        with self._lock:
            threads = max(1, self._threads_now())
            if threads != self._threads:
                # llama-cpp-python has no public setter; the context's own wrapper calls llama_set_n_threads.
                llama._ctx.set_n_threads(threads, threads)
                self._threads = threads
            cached = llama.input_ids[: llama.n_tokens].tolist()
            common = 0
            for a, b in zip(cached, tokens, strict=False):
                if a != b:
                    break
                common += 1
            reuse = max([0, *(b for b in bounds if b <= common and b < len(tokens))])
            llama.n_tokens = reuse
            try:
                for end in (b for b in bounds if b > reuse):
                    llama.eval(tokens[llama.n_tokens : end])
            except (ValueError, RuntimeError) as exc:
                llama.n_tokens = 0
                raise LLMError(f"llama.cpp failed on {self.name}: {exc}") from exc
            measured: list[tuple[float, ...]] = []
            for start, end in spans:
                if start == end:
                    measured.append(())
                    continue
                # Row i's logits predict token i + 1; a piece's first token is predicted by the row before it.
                first = max(start, 1)
                rows = llama.scores[first - 1 : end - 1]
                picked = _log_softmax_at(rows, np.asarray(tokens[first:end]))
                measured.append(tuple(float(x) for x in picked))
            last = llama.scores[len(tokens) - 1 : len(tokens)]
            nexts = tuple(
                (t, float(_log_softmax_at(last, np.asarray([i]))[0])) for t, i in zip(next_tokens, wanted, strict=True)
            )
        return TokenScores(tuple(measured), nexts, len(tokens) - reuse, time.perf_counter() - started)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._executor, self._free)
        self._executor.shutdown(wait=False)

    def _free(self) -> None:
        with self._lock:
            self._llama.close()


# The top alternatives asked for at the next position; a next token outside them gets this floor.
_TOP_LOGPROBS = 50
MISSING_LOGPROB = -30.0


def plain_text(text: str) -> str:
    """Candidate words for a server that tokenises one string with special tokens: break up `<|...|>` markers
    so they cannot become control tokens (the in-process backend needs no such rewrite)."""
    return text.replace("<|", "< |").replace("|>", "| >")


class OpenAICompatibleTokenScorer:
    """`POST /v1/completions` with `echo` and `logprobs` (llama-cpp-python's server, llama.cpp's, vLLM)."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout: float = 30) -> None:
        self.name = model
        self.model = model
        self.model_sha256: str | None = None
        root = base_url.rstrip("/").removesuffix("/v1")
        self.url = f"{root}/v1/completions"
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(timeout=timeout, headers=headers)

    async def score(self, pieces: Sequence[Piece], *, next_tokens: Sequence[str] = ()) -> TokenScores:
        started = time.perf_counter()
        text = ""
        spans: list[tuple[int, int]] = []
        for piece in pieces:
            chunk = piece.text if piece.kind is PieceKind.PROMPT else plain_text(piece.text)
            if piece.kind is PieceKind.MEASURED:
                spans.append((len(text), len(text) + len(chunk)))
            text += chunk
        # The next token's distribution is read at a probe token appended to the prompt: servers echo the
        # prompt's top alternatives at every position, but not always the generated token's.
        probe = next_tokens[0] if next_tokens else ""
        body = {
            "model": self.model,
            "prompt": text + probe,
            "max_tokens": 1,
            "temperature": 0.0,
            "seed": SEED,
            "echo": True,
            "logprobs": _TOP_LOGPROBS,
        }
        try:
            response = await self._client.post(self.url, json=body)
        except httpx.TimeoutException as exc:
            raise LLMError(f"LLM endpoint {self.url} did not answer within {self.timeout:g}s") from exc
        except httpx.HTTPError as exc:
            raise LLMError(f"cannot reach LLM endpoint {self.url}: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise LLMError(f"LLM endpoint {self.url} answered HTTP {response.status_code}: {response.text[:300]!r}")
        try:
            return _parse_echo(response.json(), len(text), spans, next_tokens, started)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise LLMError(
                f"LLM endpoint {self.url} answered without usable logprobs ({exc!r}): {response.text[:300]!r}"
            ) from exc

    async def aclose(self) -> None:
        await self._client.aclose()


def _parse_echo(
    payload: Any, prompt_chars: int, spans: list[tuple[int, int]], next_tokens: Sequence[str], started: float
) -> TokenScores:
    """Echoed prompt logprobs as llama-cpp-python's server gives them: `top_logprobs[i]` holds the alternatives
    for the token *after* token i (and `token_logprobs` is misaligned), so a token's log-probability is looked up
    among the alternatives at the position before it; one outside them gets the lowest listed value, a bound."""
    logprobs = payload["choices"][0]["logprobs"]
    offsets: list[int] = [int(o) for o in logprobs["text_offset"]]
    tokens: list[str] = [str(t) for t in logprobs["tokens"]]
    tops: list[dict[str, float] | None] = logprobs.get("top_logprobs") or [None] * len(offsets)

    def logprob_of(i: int) -> float:
        """log p(token i | tokens before it)."""
        top = tops[i - 1] if i > 0 else None
        if not top:
            return MISSING_LOGPROB
        return float(top.get(tokens[i], min(top.values())))

    measured = tuple(tuple(logprob_of(i) for i, o in enumerate(offsets) if start <= o < end) for start, end in spans)
    nexts: tuple[tuple[str, float], ...] = ()
    if next_tokens:
        # The probe is the first token at or after the prompt's end: the alternatives before it are the next token's.
        at = next((i for i, o in enumerate(offsets) if o >= prompt_chars), len(offsets) - 1)
        top = {str(k): float(v) for k, v in (tops[at - 1] or {}).items()} if at > 0 else {}
        nexts = tuple((t, top.get(t, MISSING_LOGPROB)) for t in next_tokens)
    evaluated = sum(1 for o in offsets if o < prompt_chars)
    return TokenScores(measured, nexts, evaluated, time.perf_counter() - started)


def build_token_scorer(
    kind: str,
    *,
    model: str,
    base_url: str | None = None,
    api_key: str | None = None,
    n_threads: int = 1,
    threads_now: Callable[[], int] | None = None,
    model_sha256: str | None = None,
) -> TokenScorer:
    """kind "llama_cpp": `model` is a GGUF path (loaded now, blocking), read with `threads_now()` threads (default
    `n_threads`); kind "openai": a model name at `base_url`."""
    if kind == "llama_cpp":
        return LlamaCppTokenScorer(model, n_threads=n_threads, threads_now=threads_now, model_sha256=model_sha256)
    if kind == "openai":
        if not base_url:
            raise LLMError("the 'openai' scoring backend needs a base_url (e.g. http://127.0.0.1:8080/v1)")
        return OpenAICompatibleTokenScorer(base_url, model, api_key=api_key)
    raise LLMError(f"unknown scoring backend kind {kind!r}: expected llama_cpp or openai")
