"""The one typed settings object, read from SHANMIAN_* environment variables (plus DATABASE_URL, REDIS_URL).

Every default is the embedded, zero-setup one: SQLite under ./data, the in-memory bus, packaged models.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from media.asr import DEFAULT_MODELS
from server.cpu_budget import DEFAULT as THREADS

EMBEDDED_LLM = "smollm2-135m-instruct"
MIN_AUDIT_RETENTION_DAYS = 183  # six months: the least an audit entry is kept


class SettingsError(ValueError):
    """An environment variable has a value that cannot be used; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # where candidates reach the server, for join_url; default http://host:port
    api_key: str = ""  # HR/integrator bearer key; generated (and printed) when empty
    # Seals interviews' and invitations' tokens in the database (server/token_vault.py); empty: data_dir/token.key.
    token_key: str = field(default="", repr=False)
    data_dir: Path = Path("data")
    database_url: str = ""  # default: SQLite file in data_dir
    redis_url: str = ""  # set: the event bus and rate limits live in Redis
    redis_prefix: str = "shanmian"  # Redis key prefix: deployments (or test runs) sharing one Redis stay apart
    llm_backend: str = "llama_cpp"  # llama_cpp | openai | none
    llm_model: str = EMBEDDED_LLM  # manifest name or GGUF path (llama_cpp), model name (openai)
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_threads: int = THREADS.llm_threads  # thread defaults follow the usable cores: server/cpu_budget.py
    llm_judge: bool = False  # the embedded 135M model cannot judge answers; a capable model can
    llm_wording: bool = True
    # Interview languages the model words questions in; empty means English only for the embedded 135M model
    # (its Chinese is too weak to help: slow and rejected by validation) and every language for any other model.
    llm_wording_languages: str = ""
    llm_wording_timeout_s: float = 2.0
    # A spoken answer's follow-up waits at most this long after the answer ends for the wording drafted at the
    # candidate's pauses, then the template is said (nothing drafted: at once): a follow-up comes as soon as a main
    # question does. Typed answers keep SHANMIAN_LLM_WORDING_TIMEOUT_S (nothing can be drafted while typing).
    follow_up_wait_s: float = 0.3
    # A spoken turn heard in several stretches is decoded again from its whole audio once over, for the stored and
    # scored answer (media/turn_audio.py), if it lasted at most this many seconds; 0: never (saves ASR time).
    revise_turns_up_to_s: float = 120.0
    # The packaged model that words questions in the languages above leaves out (Chinese, with the embedded 135M
    # model): loaded at start-up, one instance shared with the planner when it is the same; "none": templates.
    llm_wording_fallback: str = "qwen2.5-coder-1.5b-instruct"
    embedding_model: str = "minilm-l6-v2"  # sentence embeddings (checked by `doctor`)
    # The model whose token probabilities score answers (dialogue.answer_signals): llama_cpp (a manifest name or a
    # GGUF path), openai (a /v1/completions endpoint with logprobs), or none (nothing is scored; HR reviews).
    score_backend: str = "llama_cpp"
    score_model: str = "qwen2.5-coder-1.5b-instruct"
    score_base_url: str = ""
    score_api_key: str = ""
    # One thread on up to 4 cores: scoring runs niced beside speech recognition, and llama.cpp's threads spin-wait
    # on each other when the cores are busy (measured 4x slower with 2 threads on a loaded 2-core machine).
    score_threads: int = THREADS.score_threads
    # Who drafts plans for jobs posted without questions, and résumé probes: a manifest name or GGUF path
    # (llama.cpp, loaded on first use), "llm" (the SHANMIAN_LLM_* model) or "none" (the rule-based plan, no probes).
    plan_model: str = "qwen2.5-coder-1.5b-instruct"
    plan_threads: int = THREADS.plan_threads  # drafting is background work: live interviews keep the other cores
    max_follow_ups: int = 1
    voice: bool = True  # load ASR and VAD; off, the server takes text interviews only (and starts faster)
    asr_model_en: str = DEFAULT_MODELS["en"]
    asr_model_zh: str = DEFAULT_MODELS["zh"]
    # ASR batches decoded at once, and CTranslate2 threads each (media/asr.py has the 2-core measurement).
    asr_workers: int = THREADS.asr_workers
    asr_threads: int = THREADS.asr_threads
    reconnect_grace_s: float = 120.0
    # How long a node's hold on a live interview lasts without renewal (renewed every third of it): a node gone
    # this long plus the reconnect grace has its interviews resolved as abandoned by the other nodes' sweepers.
    lease_s: float = 15.0
    hello_timeout_s: float = 30.0
    max_text_chars: int = 4000
    max_message_bytes: int = 65536
    rate_limit_per_minute: int = 600  # REST calls per client address (RateLimitConfig; in Redis when set)
    stream_rate_limit_per_minute: int = 240  # text frames per token on the candidate and observer streams
    stream_rate_limit_burst: int = 40  # frames a token may send at once before the per-minute rate applies
    # WebSocket handshakes per client address on the candidate and observer streams: enough for a flaky network's
    # reconnects (a burst at once, then one every two seconds), not for a script opening sockets in a loop.
    stream_handshakes_per_minute: int = 30
    stream_handshakes_burst: int = 10
    # Comments per observer and interview: a person typing notes, not a script filling the interview's channel.
    observer_comments_per_minute: int = 10
    observer_comments_burst: int = 3
    # Wrong API keys per client address: this many at once, then this many a minute; beyond, 429 before any lookup.
    auth_failures_per_minute: int = 10
    auth_failures_burst: int = 20
    bus_history: int = 20_000  # events kept per interview channel: a whole interview, partial transcripts too
    bus_history_ttl_s: float = 86_400.0  # a channel's history is dropped after this long without events
    bus_held_max: int = 50_000  # events held in memory while Redis is down, published when it returns
    observer_send_timeout_s: float = 10.0  # an observer socket that accepts nothing this long is dropped
    log_level: str = "INFO"
    record: bool = True  # record voice/video interviews whose candidate consented; off, nothing is ever recorded
    recordings_dir: Path = Path("")  # where recordings are written; default data_dir/recordings
    # WebRTC ICE servers, comma-separated (stun:host:3478, turn:host:3478?transport=udp); empty: host candidates only,
    # which is enough on loopback and a LAN. TURN servers use the username and password below.
    ice_servers: str = ""
    ice_username: str = ""
    ice_password: str = ""
    rtc_drop_timeout_s: float = 5.0  # a WebRTC peer that sends no media this long is treated as dropped
    observer_ticket_ttl_s: float = 30.0  # an observer ticket (POST .../observer-ticket) must be used this soon, once
    behind_tls: bool = False  # served over HTTPS (directly or by a proxy): browsers are told to keep to HTTPS (HSTS)
    metrics: bool = True  # GET /metrics (Prometheus text format, HR key) and the event-loop probe; off: neither
    # Per-session bounds: one client must not monopolise a node or an interview.
    max_repeats_per_question: int = 5  # rephrase and repeat requests per question before they are refused
    max_interview_s: float = 5400.0  # an interview is closed (and scored) this long after its first question
    max_live_sessions: int = 50  # interviews running at once on this node; more candidates are asked to retry
    max_observers_per_interview: int = 20  # observer connections to one interview on this node
    # Where webhooks may go besides the public internet, comma-separated: loopback, private, link_local.
    webhook_allowed_targets: str = ""
    # Retention per data class, in days after the interview ended (0: kept until the candidate is erased); enforced
    # by a job every node runs at start-up and then every retention_interval_s (server/privacy/retention.py).
    retention_recordings_days: int = 30  # audio/video files and their rows; also the join info's retention_days
    retention_transcripts_days: int = 0  # the turns: questions asked and the candidate's answers
    retention_reports_days: int = 0  # every report version, the interview's report, and reviewers' comments
    retention_interval_s: float = 86_400.0
    # Audit log entries older than this are pruned (a prefix of the hash chain); never under 183 (six months).
    audit_retention_days: int = 365
    # The audit chain's head is appended to this file (JSON lines) when it moved, every audit_anchor_interval_s and
    # at a clean shutdown, so that a rewrite of the chain in the database shows (server/audit_anchor.py); default
    # data_dir/audit-anchor.jsonl. Ship the file off the machine: a writer of both can rewrite both.
    audit_anchor: Path = Path("")
    audit_anchor_interval_s: float = 60.0
    # An interview's candidate token keeps opening its report, consent and recourse routes this many days after the
    # interview ended, then nothing (server/interview_tokens.py); as long as recordings are kept, by default.
    candidate_token_days: int = 30
    # The same read by the same person (same route, ids and filters) again within this many seconds is the same
    # access: recorded once (a dashboard polls every 10 s). Writes are always recorded.
    audit_read_repeat_s: float = 300.0
    # Invitations (issue 15): how long a candidate's link works when the invite does not say.
    invitation_expiry_days: int = 14
    # How often a node closes the interviews of links that expired unused (nobody started or booked them).
    invitation_poll_s: float = 60.0
    # E-mail: with no SMTP host, messages are kept in the mail outbox for HR to read (GET /v1/mail), nothing is sent.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls | tls (implicit TLS, usually port 465) | none (a local relay only)
    smtp_username: str = ""  # set: the server logs in (after STARTTLS or over TLS)
    smtp_password: str = ""
    smtp_timeout_s: float = 30.0
    mail_from: str = "Shanmian <interviews@localhost>"  # the From of every message; its domain names Message-IDs
    # Reviews (issue 15): when a job's reviewers are asked to have reviewed a ready report, when a candidate's request
    # for a human review is due, and how long a share link for a hiring manager works when its creator does not say.
    review_due_days: int = 7
    recourse_due_days: int = 14
    share_link_expiry_days: int = 7
    # Hand-offs (issue 16): an approved offer suggestion's start-date window, in days after the positive review.
    offer_start_earliest_days: int = 14
    offer_start_latest_days: int = 45
    # Self-scheduling (issue 15): the seats a slot offers when HR does not say: the interviews this server runs at
    # once (its measured session capacity); reminders before each booked interview ("24h,1h": hours, m or s too),
    # and how often the reminder worker reads the table when nothing woke it.
    session_capacity: int = 4
    reminder_offsets: str = "24h,1h"
    reminder_poll_s: float = 30.0
    generated_api_key: bool = field(default=False, compare=False)

    @property
    def reminder_offset_list(self) -> tuple[timedelta, ...]:
        """SHANMIAN_REMINDER_OFFSETS as durations, e.g. (24 h, 1 h); empty: no reminders."""
        units = {"h": 3600, "m": 60, "s": 1}
        offsets = []
        for part in filter(None, (p.strip() for p in self.reminder_offsets.split(","))):
            if part[-1:] not in units or not part[:-1].isdigit() or int(part[:-1]) == 0:
                raise SettingsError(
                    f"SHANMIAN_REMINDER_OFFSETS={self.reminder_offsets!r}: use positive durations such as '24h,1h,30m'"
                )
            offsets.append(timedelta(seconds=int(part[:-1]) * units[part[-1]]))
        return tuple(sorted(set(offsets), reverse=True))

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    def words_in(self, language: str) -> bool:
        if self.llm_wording_languages:
            return language in {x.strip() for x in self.llm_wording_languages.split(",")}
        return language == "en" or self.llm_model != EMBEDDED_LLM

    @property
    def recordings_path(self) -> Path:
        return self.recordings_dir if str(self.recordings_dir) not in ("", ".") else self.data_dir / "recordings"

    @property
    def audit_anchor_path(self) -> Path:
        return self.audit_anchor if str(self.audit_anchor) not in ("", ".") else self.data_dir / "audit-anchor.jsonl"

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
        if self.score_backend not in ("llama_cpp", "openai", "none"):
            raise SettingsError(f"SHANMIAN_SCORE_BACKEND={self.score_backend!r}: use llama_cpp, openai or none")
        if self.score_backend == "openai" and not self.score_base_url:
            raise SettingsError("SHANMIAN_SCORE_BACKEND=openai needs SHANMIAN_SCORE_BASE_URL")
        if self.llm_backend == "openai" and not self.llm_base_url:
            raise SettingsError("SHANMIAN_LLM_BACKEND=openai needs SHANMIAN_LLM_BASE_URL (e.g. http://host:8080/v1)")
        for name in (
            "rate_limit_per_minute",
            "stream_rate_limit_per_minute",
            "stream_rate_limit_burst",
            "auth_failures_per_minute",
            "auth_failures_burst",
            "stream_handshakes_per_minute",
            "stream_handshakes_burst",
            "observer_comments_per_minute",
            "observer_comments_burst",
            "bus_history",
        ):
            if getattr(self, name) < 1:
                raise SettingsError(f"SHANMIAN_{name.upper()} must be 1 or more")
        if self.observer_send_timeout_s <= 0 or self.bus_history_ttl_s <= 0:
            raise SettingsError("SHANMIAN_OBSERVER_SEND_TIMEOUT_S and SHANMIAN_BUS_HISTORY_TTL_S must be positive")
        if self.rtc_drop_timeout_s <= 0:
            raise SettingsError("SHANMIAN_RTC_DROP_TIMEOUT_S must be positive")
        if self.lease_s <= 0 or self.reconnect_grace_s < 0:
            raise SettingsError("SHANMIAN_LEASE_S must be positive and SHANMIAN_RECONNECT_GRACE_S 0 or more")
        for name in ("max_repeats_per_question", "max_live_sessions", "max_observers_per_interview"):
            if getattr(self, name) < 1:
                raise SettingsError(f"SHANMIAN_{name.upper()} must be 1 or more")
        if self.max_interview_s <= 0 or self.observer_ticket_ttl_s <= 0:
            raise SettingsError("SHANMIAN_MAX_INTERVIEW_S and SHANMIAN_OBSERVER_TICKET_TTL_S must be positive")
        for name in ("retention_recordings_days", "retention_transcripts_days", "retention_reports_days"):
            if getattr(self, name) < 0:
                raise SettingsError(f"SHANMIAN_{name.upper()} must be 0 (keep until erased) or more")
        if self.retention_interval_s <= 0:
            raise SettingsError("SHANMIAN_RETENTION_INTERVAL_S must be positive")
        if self.audit_retention_days < MIN_AUDIT_RETENTION_DAYS:
            raise SettingsError(
                f"SHANMIAN_AUDIT_RETENTION_DAYS={self.audit_retention_days}: audit entries are kept at least six "
                f"months; use {MIN_AUDIT_RETENTION_DAYS} or more"
            )
        if self.audit_anchor_interval_s <= 0:
            raise SettingsError("SHANMIAN_AUDIT_ANCHOR_INTERVAL_S must be positive")
        if not 1 <= self.candidate_token_days <= 365:
            raise SettingsError(
                f"SHANMIAN_CANDIDATE_TOKEN_DAYS={self.candidate_token_days}: use 1 to 365 (days after the interview ended "
                "that the candidate's link still opens their report)"
            )
        if self.audit_read_repeat_s < 0:
            raise SettingsError("SHANMIAN_AUDIT_READ_REPEAT_S must be 0 (record every read) or more")
        if self.max_follow_ups < 0:
            raise SettingsError("SHANMIAN_MAX_FOLLOW_UPS must be 0 or more")
        if self.follow_up_wait_s < 0:
            raise SettingsError("SHANMIAN_FOLLOW_UP_WAIT_S must be 0 or more")
        if self.revise_turns_up_to_s < 0:
            raise SettingsError("SHANMIAN_REVISE_TURNS_UP_TO_S must be 0 or more")
        if not 1 <= self.invitation_expiry_days <= 365:
            raise SettingsError("SHANMIAN_INVITATION_EXPIRY_DAYS must be 1 to 365")
        if self.invitation_poll_s <= 0:
            raise SettingsError("SHANMIAN_INVITATION_POLL_S must be positive")
        if self.smtp_security not in ("starttls", "tls", "none"):
            raise SettingsError(f"SHANMIAN_SMTP_SECURITY={self.smtp_security!r}: use starttls, tls or none")
        if not 1 <= self.smtp_port <= 65535 or self.smtp_timeout_s <= 0:
            raise SettingsError("SHANMIAN_SMTP_PORT must be 1 to 65535 and SHANMIAN_SMTP_TIMEOUT_S positive")
        if "@" not in parseaddr(self.mail_from)[1]:
            raise SettingsError(f"SHANMIAN_MAIL_FROM={self.mail_from!r}: use an address, e.g. 'HR <hr@example.com>'")
        for name, most in (("review_due_days", 365), ("recourse_due_days", 365), ("share_link_expiry_days", 90)):
            if not 1 <= getattr(self, name) <= most:
                raise SettingsError(f"SHANMIAN_{name.upper()} must be 1 to {most}")
        if not 0 <= self.offer_start_earliest_days <= self.offer_start_latest_days <= 365:
            raise SettingsError(
                "SHANMIAN_OFFER_START_EARLIEST_DAYS and SHANMIAN_OFFER_START_LATEST_DAYS: use 0 <= earliest <= latest <= 365"
            )
        if self.session_capacity < 1 or self.reminder_poll_s <= 0:
            raise SettingsError("SHANMIAN_SESSION_CAPACITY must be 1 or more and SHANMIAN_REMINDER_POLL_S positive")
        self.reminder_offset_list  # noqa: B018  (raises SettingsError on a malformed list)


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
