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
from dialogue.answer_signals import SignalReader
from dialogue.interviewer import DraftSlot, InterviewerModels
from dialogue.language import LANGUAGES, Language
from dialogue.llm import LLMBackend, build_backend
from dialogue.llm.token_logprobs import TokenScorer, build_token_scorer
from dialogue.scoring import AnswerJudge
from dialogue.wording import WordingConfig
from media import ASRConfig, ASREngine, SileroVad
from server.cpu_budget import ScoringThreads
from server.planning import PlannerModel
from server.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    llm: LLMBackend | None = None
    scorer: TokenScorer | None = None
    answer_judge: AnswerJudge = field(default_factory=lambda: AnswerJudge(None))
    asr: ASREngine | None = None
    vad: SileroVad | None = None
    loaded: list[str] = field(default_factory=list)
    drafting: DraftSlot = field(default_factory=DraftSlot)  # one speculative model call at a time
    timings: list[tuple[str, float]] = field(default_factory=list)  # start-up steps and their seconds
    planner: PlannerModel | None = None  # drafts plans and résumé probes; loads its model on first use
    # Words questions in the languages `llm` leaves out (Chinese, with the embedded 135M model).
    wording_fallback: LLMBackend | None = None
    # The scorer's threads: more while no voice interview runs (the live interviews count them).
    scoring_threads: ScoringThreads = field(default_factory=lambda: ScoringThreads(1, 1))
    warming: asyncio.Task[None] | None = None  # the scorer's rubric prefix, evaluated in the background at start

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
        if settings.score_backend == "llama_cpp":
            runtime.scoring_threads = ScoringThreads.for_setting(settings.score_threads)
            with runtime._step("scoring model (verify + load)"):
                path = await asyncio.to_thread(models.resolve, settings.score_model)
                runtime.scorer = await asyncio.to_thread(
                    build_token_scorer,
                    "llama_cpp",
                    model=str(path),
                    n_threads=settings.score_threads,
                    threads_now=runtime.scoring_threads,
                    model_sha256=models.embedded_sha256(settings.score_model),
                )
            runtime.loaded.append(f"scoring: {models.describe(settings.score_model)} via llama.cpp")
        elif settings.score_backend == "openai":
            runtime.scorer = build_token_scorer(
                "openai",
                model=settings.score_model,
                base_url=settings.score_base_url,
                api_key=settings.score_api_key or None,
            )
            runtime.loaded.append(f"scoring: {settings.score_model} at {settings.score_base_url}")
        else:
            runtime.loaded.append("scoring: none (reports ask HR to review)")
        # One judge per process: sessions share the model's worker and the questions' cached priors.
        runtime.answer_judge = AnswerJudge(SignalReader(runtime.scorer) if runtime.scorer else None)
        if runtime.answer_judge.reader is not None:
            runtime.warming = asyncio.create_task(runtime.answer_judge.reader.warm_up())
            runtime.warming.add_done_callback(_warmed)
        runtime.planner = PlannerModel(settings, runtime.llm)
        fallback = settings.llm_wording_fallback
        if settings.llm_wording and fallback != "none" and not all(settings.words_in(x) for x in LANGUAGES):
            with runtime._step("wording model (verify + load)"):
                # The wording threads (a candidate waits on it); the planner shares this instance if it is the same.
                runtime.wording_fallback = await runtime.planner.model(fallback, settings.llm_threads)
            runtime.loaded.append(f"wording (other languages): {models.describe(fallback)} via llama.cpp")
        return runtime

    def interviewer_models(self, language: Language) -> InterviewerModels:
        return InterviewerModels(
            wording=self._wording(language),
            judge=self.llm if self.settings.llm_judge else None,
            answers=self.answer_judge,
            wording_config=WordingConfig(timeout_s=self.settings.llm_wording_timeout_s),
            drafting=self.drafting,
        )

    def _wording(self, language: Language) -> LLMBackend | None:
        if not self.settings.llm_wording:
            return None
        return self.llm if self.settings.words_in(language) else self.wording_fallback

    async def aclose(self) -> None:
        if self.warming is not None:
            self.warming.cancel()
        if self.planner is not None:
            await self.planner.aclose()
        if self.asr is not None:
            self.asr.close()
        if self.llm is not None:
            await self.llm.aclose()
        if self.scorer is not None:
            await self.scorer.aclose()


def _warmed(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        # Nothing is lost: the first answer read evaluates the prefix itself.
        log.warning("the scoring model's rubric could not be evaluated ahead: %s", task.exception())
