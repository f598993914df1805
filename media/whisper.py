"""One Whisper model (faster-whisper's CTranslate2 model, tokenizer and feature extractor) and how a batch of
audio windows is decoded with it: padding, prompts, beam search, loop repair, the silence rule, zh to Simplified.

`ASREngine` (media/asr.py) decides what is decoded when; this module only decodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from media.chinese import to_simplified
from media.repeats import collapse_repeats, compression_ratio

if TYPE_CHECKING:
    from media.asr import ASRConfig

SAMPLE_RATE = 16000
HOP = 160  # Whisper's feature hop: 100 frames per second
MAX_FRAMES = 3000  # the encoder's 30 s limit
_MAX_LENGTH = 448  # Whisper's decoder context


class UnknownModel(ValueError):
    """The configured ASR model is neither a manifest name nor a CTranslate2 directory."""


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str  # zh already in Simplified characters; "" for what Whisper's silence rule rejects
    no_speech_prob: float
    avg_logprob: float


def resolve_model_path(name_or_path: str) -> str:
    """A manifest name ("whisper-tiny.en") resolves through `models`; anything else must be a CTranslate2 dir."""
    import models

    if name_or_path in models.manifest():
        return str(models.resolve(name_or_path))
    if not Path(name_or_path).is_dir():
        raise UnknownModel(f"ASR model {name_or_path!r} is neither a known model name nor a directory")
    return name_or_path


class WhisperDecoder:
    """One WhisperModel and what decoding needs from it; built once per language in a worker thread."""

    def __init__(self, path: str, config: ASRConfig, language: str) -> None:
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self.config = config
        self.language = language
        self.whisper = WhisperModel(
            path,
            device="cpu",
            compute_type=config.compute_type,
            cpu_threads=config.cpu_threads,
            num_workers=config.workers,  # lets `workers` threads call generate() on it at once
        )
        self.ct2 = self.whisper.model
        self.features = self.whisper.feature_extractor
        self.n_mels = int(self.whisper.feat_kwargs.get("feature_size", 80))
        self.tokenizer = Tokenizer(
            self.whisper.hf_tokenizer,
            self.ct2.is_multilingual,
            task="transcribe",
            language=language if self.ct2.is_multilingual else None,
        )
        self.suppress: list[int] = list(get_suppressed_tokens(self.tokenizer, [-1]))

    def decode(self, windows: list[tuple[np.ndarray, str]], *, final: bool) -> list[Decoded]:
        """(16 kHz float32 audio ≤ 30 s, previous text) windows, decoded together in one encoder/decoder call."""
        import ctranslate2

        cfg = self.config
        feats = [self.features(audio)[:, :-1] for audio, _ in windows]  # the last frame is the extractor's padding
        longest = max(f.shape[1] for f in feats)
        floor = cfg.min_window_s if final else cfg.partial_min_window_s
        frames = max(longest + int(cfg.pad_s * 100), int(floor * 100))
        frames = MAX_FRAMES if cfg.full_window else min(MAX_FRAMES, frames)
        x = np.zeros((len(windows), self.n_mels, frames), np.float32)
        for i, f in enumerate(feats):
            n = min(frames, f.shape[1])
            x[i, :, :n] = f[:, :n]
        encoded = self.ct2.encode(ctranslate2.StorageView.from_array(x), to_cpu=False)
        # CTranslate2 needs <|startoftranscript|> at the same position in every row of a batch: give every
        # request the same number of previous-text tokens (the shortest; none if one of them has none).
        previous = [self._previous_tokens(prompt) for _, prompt in windows]
        keep = min(len(p) for p in previous)
        prompts = [
            list(self.whisper.get_prompt(self.tokenizer, p[len(p) - keep :] if keep else [], without_timestamps=True))
            for p in previous
        ]
        audio_s = max(len(audio) for audio, _ in windows) / SAMPLE_RATE
        max_new = int(16 + cfg.tokens_per_s * audio_s)
        max_length = min(_MAX_LENGTH, max(len(p) for p in prompts) + max_new)
        results = self.ct2.generate(
            encoded,
            prompts,
            beam_size=cfg.beam_size if final else cfg.partial_beam_size,
            max_length=max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self.suppress,
        )
        out = []
        for i, res in enumerate(results):
            text = self.tokenizer.decode(res.sequences_ids[0]).strip()
            if text and compression_ratio(text) > cfg.compression_ratio_threshold:
                text = self._decode_again(x[i : i + 1], prompts[i], max_length) or text
            text = collapse_repeats(text, self.language)
            n_tokens = max(1, len(res.sequences_ids[0]))
            avg_logprob = float(res.scores[0]) * n_tokens / (n_tokens + 1)
            no_speech = float(res.no_speech_prob)
            if no_speech > cfg.no_speech_threshold and avg_logprob < cfg.logprob_threshold:
                text = ""  # Whisper's own rule: silence or noise it would otherwise caption ("Thank you.")
            if self.language == "zh":
                text = to_simplified(text)
            out.append(Decoded(text, no_speech, avg_logprob))
        return out

    def _decode_again(self, features: np.ndarray, prompt: list[int], max_length: int) -> str:
        """A repetition loop ("the the the ..."): decode that one window again with repeated 3-grams blocked."""
        import ctranslate2

        encoded = self.ct2.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(features)), to_cpu=False)
        res = self.ct2.generate(
            encoded, [prompt], beam_size=max(2, self.config.beam_size), max_length=max_length,
            no_repeat_ngram_size=3, suppress_blank=True, suppress_tokens=self.suppress,
        )  # fmt: skip
        return str(self.tokenizer.decode(res[0].sequences_ids[0]).strip())

    def _previous_tokens(self, prompt: str) -> list[int]:
        if not prompt.strip():
            return []
        return list(self.tokenizer.encode(" " + prompt.strip()))[-(_MAX_LENGTH // 2 - 1) :]
