"""Session fixtures for the media tests: one ASR engine and one VAD model per test session, the clips."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from media_testkit import Clip, Timed, load_clips, run_stream, silence

from media import ASREngine, AudioFormat, AudioPipeline, EndpointingConfig, SileroVad

# -- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def engine() -> Iterator[ASREngine]:
    eng = ASREngine()
    eng.preload()  # both languages once for the whole session
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def vad() -> SileroVad:
    return SileroVad()


@pytest.fixture(scope="session")
def clips_en() -> dict[str, Clip]:
    return load_clips("en")


@pytest.fixture(scope="session")
def clips_zh() -> dict[str, Clip]:
    return load_clips("zh")


PipelineFactory = Callable[..., AudioPipeline]


@pytest.fixture
def make_pipeline(engine: ASREngine, vad: SileroVad) -> PipelineFactory:
    def make(
        language: str = "en",
        fmt: AudioFormat | None = None,
        config: EndpointingConfig | None = None,
        **kw: int,
    ) -> AudioPipeline:
        return AudioPipeline(engine, vad, language, fmt or AudioFormat(), config, **kw)

    return make


@pytest.fixture(scope="session")
async def streamed(
    engine: ASREngine, vad: SileroVad, clips_en: dict[str, Clip], clips_zh: dict[str, Clip]
) -> dict[str, dict[str, list[Timed]]]:
    """Every fixture clip streamed once (20 ms frames, pushed as fast as the pipeline takes them, 3 s of
    silence after), shared by the accuracy and intent tests: {lang: {clip id: [Timed events]}}."""
    out: dict[str, dict[str, list[Timed]]] = {}
    for lang, clips in (("en", clips_en), ("zh", clips_zh)):
        out[lang] = {}
        for clip in clips.values():
            p = AudioPipeline(engine, vad, lang, AudioFormat())
            out[lang][clip.id] = await run_stream(p, clip.pcm + silence(3.0))
            await p.close()
    return out
