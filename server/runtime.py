"""The models a server process loads once and shares across sessions: the LLM backend (and the ASR engine).

Built at start-up from Settings; sessions get their `InterviewerModels` from here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import models
from dialogue.answer_features import embedding_relevance
from dialogue.interviewer import DraftSlot, InterviewerModels
from dialogue.language import Language
from dialogue.llm import LLMBackend, build_backend
from dialogue.semantic import EncoderUnavailable, SentenceEncoder
from dialogue.wording import WordingConfig
from media import ASRConfig, ASREngine, SileroVad
from server.planning import PlannerModel
from server.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    llm: LLMBackend | None = None
    encoder: SentenceEncoder | None = None
    asr: ASREngine | None = None
    vad: SileroVad | None = None
    loaded: list[str] = field(default_factory=list)
    drafting: DraftSlot = field(default_factory=DraftSlot)  # one speculative model call at a time
    timings: list[tuple[str, float]] = field(default_factory=list)  # start-up steps and their seconds
    planner: PlannerModel | None = None  # drafts plans and résumé probes; loads its model on first use

    @contextmanager
    def _step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.timings.append((name, time.perf_counter() - started))

    @classmethod
    async def load(cls, settings: Settings) -> Runtime:
        runtime = cls(settings)
        if settings.llm_backend == "llama_cpp":
            with runtime._step("LLM (verify + load)"):
                path = await asyncio.to_thread(models.resolve, settings.llm_model)
                runtime.llm = await asyncio.to_thread(
                    build_backend, "llama_cpp", model=str(path), n_threads=settings.llm_threads
                )
            runtime.loaded.append(f"LLM: {models.describe(settings.llm_model)} via llama.cpp")
        elif settings.llm_backend == "openai":
            runtime.llm = build_backend(
                "openai",
                model=settings.llm_model,
                base_url=settings.llm_base_url,
                api_key=settings.llm_api_key or None,
            )
            runtime.loaded.append(f"LLM: {settings.llm_model} at {settings.llm_base_url}")
        else:
            runtime.loaded.append("LLM: none (templates and rules only)")
        if settings.voice:
            config = ASRConfig(
                models={"en": settings.asr_model_en, "zh": settings.asr_model_zh},
                workers=settings.asr_workers,
                cpu_threads=settings.asr_threads,
            )
            runtime.asr = ASREngine(config)
            with runtime._step("ASR (verify + load)"):
                await asyncio.to_thread(runtime.asr.preload)
            with runtime._step("VAD"):
                runtime.vad = await asyncio.to_thread(SileroVad)
            runtime.loaded.append(f"ASR: {models.describe(settings.asr_model_en)} (en)")
            runtime.loaded.append(f"ASR: {models.describe(settings.asr_model_zh)} (zh)")
            runtime.loaded.append(f"VAD: {models.describe('silero-vad')}")
        try:
            with runtime._step("embeddings"):
                folder = await asyncio.to_thread(models.resolve, settings.embedding_model)
                runtime.encoder = await asyncio.to_thread(SentenceEncoder.load, folder)
            runtime.loaded.append(f"embeddings: {models.describe(settings.embedding_model)}")
        except (models.ModelError, EncoderUnavailable) as exc:
            # Relevance then falls back to word overlap; the interview itself does not depend on it.
            log.warning("sentence embeddings unavailable, relevance uses word overlap only: %s", exc)
        runtime.planner = PlannerModel(settings, runtime.llm)
        return runtime

    def interviewer_models(self, language: Language) -> InterviewerModels:
        # all-MiniLM-L6-v2 is an English model: Chinese relevance stays with character overlap.
        relevance = embedding_relevance(self.encoder.similarity) if self.encoder and language == "en" else None
        return InterviewerModels(
            wording=self.llm if self.settings.llm_wording and self.settings.words_in(language) else None,
            judge=self.llm if self.settings.llm_judge else None,
            relevance=relevance,
            wording_config=WordingConfig(timeout_s=self.settings.llm_wording_timeout_s),
            drafting=self.drafting,
        )

    async def aclose(self) -> None:
        if self.planner is not None:
            await self.planner.aclose()
        if self.asr is not None:
            self.asr.close()
        if self.llm is not None:
            await self.llm.aclose()
