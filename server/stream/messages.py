"""The stream's JSON messages as msgspec structs: what clients may send, what the server sends.

Decoding a client frame gives one typed message or a `BadMessage` with an error a person can act on.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from dialogue.report import CandidateReport, Report
from dialogue.session import Question


class AudioSpec(Struct, forbid_unknown_fields=False):
    encoding: str = "pcm_s16le"
    sample_rate: int = 16000
    channels: int = 1


class Hello(Struct, tag="hello", tag_field="type"):
    mode: Literal["voice", "text", "video"] = "voice"
    audio: AudioSpec | None = None
    consent: bool | None = None  # to an audio recording
    video_consent: bool | None = None  # to a video recording as well (video mode); None keeps what was given before
    ai_notice: bool | None = None  # the candidate accepted the notice that an AI conducts and scores the interview


class AnswerMsg(Struct, tag="answer", tag_field="type"):
    text: str


class Rephrase(Struct, tag="rephrase", tag_field="type"):
    pass


class Repeat(Struct, tag="repeat", tag_field="type"):
    pass


class End(Struct, tag="end", tag_field="type"):
    pass


class Ping(Struct, tag="ping", tag_field="type"):
    pass


class WithdrawConsent(Struct, tag="withdraw_consent", tag_field="type"):
    """The candidate takes back their consent to recording: what was recorded is kept, nothing more is."""


class CommentMsg(Struct, tag="comment", tag_field="type"):
    text: Annotated[str, Meta(max_length=4000)]


CandidateMessage = Hello | AnswerMsg | Rephrase | Repeat | End | Ping | WithdrawConsent
CANDIDATE_TYPES = ("hello", "answer", "rephrase", "repeat", "end", "ping", "withdraw_consent")
ObserverMessage = CommentMsg | Ping
OBSERVER_TYPES = ("comment", "ping")


class BadMessage(ValueError):
    """A client frame that is not a valid message; `code` is the protocol's error code."""

    def __init__(self, message: str, code: str = "bad_message") -> None:
        super().__init__(message)
        self.code = code


_candidate_decoder = msgspec.json.Decoder(CandidateMessage)
_observer_decoder = msgspec.json.Decoder(ObserverMessage)


def _decode(data: str, decoder: msgspec.json.Decoder[Any], allowed: tuple[str, ...]) -> Any:
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError:
        raise BadMessage("the frame is not valid JSON; text frames carry one JSON object") from None
    if not isinstance(raw, dict):
        raise BadMessage('a message must be a JSON object with a "type"')
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise BadMessage(f'the message has no "type"; expected one of: {", ".join(allowed)}')
    if kind not in allowed:
        raise BadMessage(f"unknown message type {kind!r}; expected one of: {', '.join(allowed)}")
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise BadMessage(f"invalid {kind!r} message: {exc}") from None


def decode_candidate(data: str) -> CandidateMessage:
    return _decode(data, _candidate_decoder, CANDIDATE_TYPES)


def decode_observer(data: str) -> ObserverMessage:
    return _decode(data, _observer_decoder, OBSERVER_TYPES)


# --- server to client ------------------------------------------------------------------------------------


class Out(Struct, tag_field="type", kw_only=True):
    t: float = 0.0
    seq: int = 0  # position in the interview's event stream: observers and reconnecting clients dedupe by it


class Ready(Out, tag="ready"):
    session_id: str
    resumed: bool = False


class QuestionOut(Out, tag="question"):
    question_id: str
    text: str
    kind: str
    index: int
    total: int
    language: str = "en"

    @classmethod
    def of(cls, question: Question, language: str) -> QuestionOut:
        return cls(
            question_id=question.question_id,
            text=question.text,
            kind=question.kind.value,
            index=question.index,
            total=question.total,
            language=language,
        )


class SpeechStartedOut(Out, tag="speech_started"):
    pass


class SpeechStoppedOut(Out, tag="speech_stopped"):
    pass


class TranscriptOut(Out, tag="transcript"):
    final: bool
    text: str
    start: float
    end: float


class TurnEndOut(Out, tag="turn_end"):
    text: str


class ReportOut(Out, tag="report"):
    """The candidate gets their view; observers (HR) the full report."""

    report: Report | CandidateReport


class ClosedOut(Out, tag="closed"):
    reason: str


class Pong(Out, tag="pong"):
    pass


class ConsentWithdrawnOut(Out, tag="consent_withdrawn"):
    """Answers `withdraw_consent` once the recording file is closed; `recorded_s` is what it kept (None: nothing)."""

    recorded_s: float | None = None


class ErrorOut(Out, tag="error"):
    code: str
    message: str


class CandidateJoined(Out, tag="candidate_joined"):
    pass


class CandidateLeft(Out, tag="candidate_left"):
    pass


class CommentOut(Out, tag="comment"):
    """An observer's note: outside the session's `seq` order (any node may add one), de-duplicated by `comment_id`."""

    author: str
    text: str
    comment_id: int = 0


class EventHead(Struct, forbid_unknown_fields=False):
    """The few fields of a published event that an observer's feed orders and de-duplicates by."""

    type: str = ""
    seq: int = 0
    comment_id: int = 0


_encoder = msgspec.json.Encoder()


def encode(message: Out) -> str:
    return _encoder.encode(message).decode()
