"""The JSON Schema (2020-12) of each webhook event, derived from its payload dataclass so the two cannot drift."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from typing import Any, Literal

from hr.webhook_events import PAYLOADS, EventPayload

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _type_schema(hint: Any) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return {"enum": list(typing.get_args(hint))}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_type_schema(arg) for arg in typing.get_args(hint)]}
    if hint is type(None):
        return {"type": "null"}
    if hint is datetime:
        return {"type": "string", "format": "date-time"}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if hint in simple:
        return {"type": simple[hint]}
    raise TypeError(f"no JSON Schema for a payload field of type {hint!r}")


def event_schema(payload: type[EventPayload]) -> dict[str, Any]:
    """The schema of the whole signed body of one event type: the envelope and its `data`."""
    hints = typing.get_type_hints(payload)
    fields = dataclasses.fields(payload)
    data = {
        "type": "object",
        "properties": {
            f.name: _type_schema(hints[f.name]) | {"description": f.metadata["description"]} for f in fields
        },
        "required": [f.name for f in fields],
    }
    return {
        "$schema": DIALECT,
        "$id": f"urn:shanmian:webhook:{payload.TYPE}",
        "title": payload.TYPE,
        "type": "object",
        "properties": {
            "type": {"const": payload.TYPE},
            "timestamp": {"type": "string", "format": "date-time", "description": "When the event happened (UTC)."},
            "data": data,
        },
        "required": ["type", "timestamp", "data"],
    }


SCHEMAS: dict[str, dict[str, Any]] = {p.TYPE: event_schema(p) for p in PAYLOADS}
