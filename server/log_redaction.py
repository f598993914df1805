"""Secrets never reach a log: every record's message and arguments have credential query values and bearer keys
replaced, whoever logs them (uvicorn's access and WebSocket `accepted` lines carry the full query string).

Installed as the process's log record factory, so it holds for every logger and handler, configured before or after.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

REDACTED = "[redacted]"

# Query (or form) parameters whose value is a credential: candidate and observer tokens, observer tickets, keys.
_SECRET_PARAM = re.compile(
    r"(?i)(?<![A-Za-z0-9_])((?:[A-Za-z0-9_]*_)?(?:token|key|ticket|secret|password|passwd|signature|sig))=[^&\s\"'#]+"
)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
_TRACEBACKS = logging.Formatter()


def redact(text: str) -> str:
    """`text` with every credential value replaced by [redacted]; the parameter names stay, to show what was sent."""
    if "=" not in text and "earer" not in text:
        return text  # the common case: nothing to look for, no regex pass
    return _BEARER.sub(rf"\1 {REDACTED}", _SECRET_PARAM.sub(rf"\1={REDACTED}", text))


def _redact_arg(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, int | float | bool):
        return value  # kept as they are: formats such as %d need the number
    text = str(value)  # a URL object, a request, a path: its text is what a format would print
    cleaned = redact(text)
    return value if cleaned == text else cleaned


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    elif record.msg is not None and not isinstance(record.msg, int | float):
        record.msg = _redact_arg(record.msg)
    args = record.args
    if isinstance(args, tuple):
        record.args = tuple(_redact_arg(a) for a in args)
    elif isinstance(args, Mapping):
        record.args = {k: _redact_arg(v) for k, v in args.items()}
    color = record.__dict__.get("color_message")  # uvicorn's coloured variant of the same line
    if isinstance(color, str):
        record.__dict__["color_message"] = redact(color)
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        # Formatters print exc_text when it is set: the traceback (an exception may quote a URL) is redacted once.
        record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class _RedactingFactory:
    """Wraps the record factory in place when installed; marked so a second install is a no-op."""

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(self.inner(*args, **kwargs))


def install() -> None:
    """Redact every log record this process creates from now on; safe to call more than once."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(current))
