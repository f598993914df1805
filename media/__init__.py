"""Audio in → words out: format checks, resampling, Silero VAD, end-of-turn detection, streaming Whisper ASR.

Plain library: imports nothing from `server` or `dialogue`. See `AudioPipeline` (per stream) and `ASREngine`.
"""

from media.asr import ASRConfig, ASREngine, EngineClosed, Transcript, UnsupportedLanguage
from media.audio_format import AudioFormat, FrameError, UnsupportedAudio
from media.endpointing import EndOfTurnDetector, EndpointingConfig
from media.events import (
    MediaEvent,
    SpeechStarted,
    SpeechStopped,
    TranscriptFinal,
    TranscriptPartial,
    TurnEnded,
    TurnRevised,
)
from media.pipeline import AudioPipeline, PipelineClosed
from media.vad import SileroVad, VadStream

__all__ = [
    "ASRConfig",
    "ASREngine",
    "AudioFormat",
    "AudioPipeline",
    "EndOfTurnDetector",
    "EndpointingConfig",
    "EngineClosed",
    "FrameError",
    "MediaEvent",
    "PipelineClosed",
    "SileroVad",
    "SpeechStarted",
    "SpeechStopped",
    "Transcript",
    "TranscriptFinal",
    "TranscriptPartial",
    "TurnEnded",
    "TurnRevised",
    "UnsupportedAudio",
    "UnsupportedLanguage",
    "VadStream",
]
