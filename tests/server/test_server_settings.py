"""Settings from the environment: defaults, parsing, clear errors, derived URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import Settings, SettingsError


def test_defaults_are_the_embedded_zero_setup_ones() -> None:
    s = Settings.from_env({})
    assert s.generated_api_key and len(s.api_key) >= 24
    assert s.sqlalchemy_url.startswith("sqlite+aiosqlite:///") and s.sqlalchemy_url.endswith("data/shanmian.db")
    assert s.redis_url == "" and s.llm_backend == "llama_cpp" and s.max_follow_ups == 1
    assert s.base_url == "http://127.0.0.1:8000"


def test_environment_values_are_parsed_by_type() -> None:
    s = Settings.from_env(
        {
            "SHANMIAN_API_KEY": "k",
            "SHANMIAN_PORT": "9000",
            "SHANMIAN_LLM_JUDGE": "yes",
            "SHANMIAN_RECONNECT_GRACE_S": "30.5",
            "SHANMIAN_DATA_DIR": "/tmp/x",
            "DATABASE_URL": "postgres://u@h:5432/db",
            "REDIS_URL": "redis://h:6379/0",
            "SHANMIAN_PUBLIC_URL": "https://interviews.example.org/",
        }
    )
    assert (s.api_key, s.port, s.llm_judge, s.reconnect_grace_s) == ("k", 9000, True, 30.5)
    assert s.data_dir == Path("/tmp/x") and not s.generated_api_key
    assert s.sqlalchemy_url == "postgresql+asyncpg://u@h:5432/db"
    assert s.redis_url == "redis://h:6379/0"
    assert s.base_url == "https://interviews.example.org"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SHANMIAN_PORT": "eighty"}, "SHANMIAN_PORT"),
        ({"SHANMIAN_LLM_JUDGE": "maybe"}, "SHANMIAN_LLM_JUDGE"),
        ({"SHANMIAN_LLM_BACKEND": "gpt"}, "llama_cpp, openai or none"),
        ({"SHANMIAN_LLM_BACKEND": "openai"}, "SHANMIAN_LLM_BASE_URL"),
        ({"SHANMIAN_MAX_FOLLOW_UPS": "-1"}, "SHANMIAN_MAX_FOLLOW_UPS"),
        ({"SHANMIAN_INVITATION_POLL_S": "0"}, "SHANMIAN_INVITATION_POLL_S"),
        ({"SHANMIAN_FOLLOW_UP_WAIT_S": "-1"}, "SHANMIAN_FOLLOW_UP_WAIT_S"),
        ({"SHANMIAN_REVISE_TURNS_UP_TO_S": "-5"}, "SHANMIAN_REVISE_TURNS_UP_TO_S"),
        ({"SHANMIAN_LEASE_S": "0"}, "SHANMIAN_LEASE_S"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_candidate_token_days_default_to_the_recordings_retention_and_are_read_from_the_environment() -> None:
    s = Settings.from_env({})
    assert s.candidate_token_days == s.retention_recordings_days == 30
    assert Settings.from_env({"SHANMIAN_CANDIDATE_TOKEN_DAYS": "365"}).candidate_token_days == 365


@pytest.mark.parametrize("raw", ["0", "-3", "366", "thirty"])
def test_candidate_token_days_outside_1_to_365_stop_start_up_naming_the_variable(raw: str) -> None:
    with pytest.raises(SettingsError, match=r"SHANMIAN_CANDIDATE_TOKEN_DAYS=.*(1 to 365|not a valid int)"):
        Settings.from_env({"SHANMIAN_CANDIDATE_TOKEN_DAYS": raw})


def test_the_embedded_model_words_english_only_unless_told_otherwise() -> None:
    embedded = Settings.from_env({})
    assert embedded.words_in("en") and not embedded.words_in("zh")
    assert Settings.from_env({"SHANMIAN_LLM_MODEL": "/models/qwen2.5-7b.gguf"}).words_in("zh")
    assert Settings.from_env({"SHANMIAN_LLM_WORDING_LANGUAGES": "en,zh"}).words_in("zh")
