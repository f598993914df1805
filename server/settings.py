"""The one typed settings object, read from SHANMIAN_* environment variables (plus DATABASE_URL, REDIS_URL).

Every default is the embedded, zero-setup one: SQLite under ./data, the in-memory bus, packaged models.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """An environment variable has a value that cannot be used; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # where candidates reach the server, for join_url; default http://host:port
    api_key: str = ""  # HR/integrator bearer key; generated (and printed) when empty
    data_dir: Path = Path("data")
    database_url: str = ""  # default: SQLite file in data_dir
    redis_url: str = ""  # set: the event bus and rate limits live in Redis
    llm_backend: str = "llama_cpp"  # llama_cpp | openai | none
    llm_model: str = "smollm2-135m-instruct"  # manifest name or GGUF path (llama_cpp), model name (openai)
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_threads: int = 2
    llm_judge: bool = False  # the embedded 135M model cannot judge answers; a capable model can
    llm_wording: bool = True
    max_follow_ups: int = 1
    asr_model_en: str = "whisper-tiny.en"
    asr_model_zh: str = "whisper-base"
    asr_threads: int = 2
    reconnect_grace_s: float = 120.0
    hello_timeout_s: float = 30.0
    max_text_chars: int = 4000
    max_message_bytes: int = 65536
    rate_limit_per_minute: int = 600
    log_level: str = "INFO"
    generated_api_key: bool = field(default=False, compare=False)

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def sqlalchemy_url(self) -> str:
        url = self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'shanmian.db').resolve()}"
        for plain in ("postgres://", "postgresql://"):
            if url.startswith(plain):
                return "postgresql+asyncpg://" + url[len(plain) :]
        if url.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
        return url

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "generated_api_key":
                continue
            name = f.name.upper() if f.name in ("database_url", "redis_url") else f"SHANMIAN_{f.name.upper()}"
            if name in env:
                values[f.name] = _parse(name, env[name], f.type)
        values.update(overrides)
        if not values.get("api_key"):
            values["api_key"] = secrets.token_urlsafe(24)
            values["generated_api_key"] = True
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.llm_backend not in ("llama_cpp", "openai", "none"):
            raise SettingsError(f"SHANMIAN_LLM_BACKEND={self.llm_backend!r}: use llama_cpp, openai or none")
        if self.llm_backend == "openai" and not self.llm_base_url:
            raise SettingsError("SHANMIAN_LLM_BACKEND=openai needs SHANMIAN_LLM_BASE_URL (e.g. http://host:8080/v1)")
        if self.max_follow_ups < 0:
            raise SettingsError("SHANMIAN_MAX_FOLLOW_UPS must be 0 or more")


def _parse(name: str, raw: str, kind: Any) -> Any:
    kind = str(kind)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        if kind == "Path":
            return Path(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a valid {kind}") from None
    return raw
