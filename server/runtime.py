"""The models a server process loads once and shares across sessions: the LLM backend (and the ASR engine).

Built at start-up from Settings; sessions get their `InterviewerModels` from here.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import models
from dialogue.interviewer import InterviewerModels
from dialogue.llm import LLMBackend, build_backend
from server.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    llm: LLMBackend | None = None
    loaded: list[str] = field(default_factory=list)

    @classmethod
    async def load(cls, settings: Settings) -> Runtime:
        runtime = cls(settings)
        if settings.llm_backend == "llama_cpp":
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
        return runtime

    def interviewer_models(self) -> InterviewerModels:
        return InterviewerModels(
            wording=self.llm if self.settings.llm_wording else None,
            judge=self.llm if self.settings.llm_judge else None,
        )

    async def aclose(self) -> None:
        if self.llm is not None:
            await self.llm.aclose()
