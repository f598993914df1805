"""A model-free server for the HR workflow tests (reviews, recourse, share links, hand-offs) and what they share: no
voice, language model or scorer, so a test makes its finished interviews and reports from stored rows; a local
receiver subscribed to the webhook events the test follows, whose deliveries are verified with `standardwebhooks`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from server_testkit import model_free_server
from standardwebhooks import Webhook
from webhook_receiver import Receiver

from server.db.store import Store

KEY = "workflow-test-key"
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class WorkflowServer:
    base: str
    store: Store
    receiver: Receiver
    secret: str  # the webhook endpoint's
    data_dir: Path

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        hr: bool = True,
        content: bytes | None = None,
        content_type: str | None = None,
        query: Mapping[str, str] | None = None,
        **params: str,
    ) -> httpx.Response:
        """A REST call, with the HR key unless `hr` is False; `content` is sent as it is, as `content_type`; the
        query string is `query` and `params` together."""
        # None, not {}: httpx replaces a query written in `path` with an empty one.
        merged = {**(query or {}), **params} or None
        headers = {"Authorization": f"Bearer {KEY}"} if hr else {}
        async with httpx.AsyncClient(base_url=self.base, timeout=60, headers=headers) as c:
            if content is not None:
                return await c.request(
                    method, path, content=content, params=merged, headers={"Content-Type": content_type or ""}
                )
            return await c.request(method, path, json=body, params=merged)

    def events(self, event_type: str, interview_id: str) -> list[dict[str, Any]]:
        """The received events of one type about one interview, each verified against the endpoint's secret."""
        verifier = Webhook(self.secret)
        got = [verifier.verify(r.body, r.headers) for r in self.receiver.of_type(event_type)]
        return [e for e in got if e["data"]["interview_id"] == interview_id]

    async def wait_events(self, event_type: str, interview_id: str, count: int) -> list[dict[str, Any]]:
        await self.receiver.wait_for(lambda _: len(self.events(event_type, interview_id)) >= count, seconds=30)
        return self.events(event_type, interview_id)


W = TypeVar("W", bound=WorkflowServer)


@asynccontextmanager
async def workflow_server(
    kind: type[W], database_url: str | None, port: int, event_types: Sequence[str], **settings: Any
) -> AsyncIterator[W]:
    """A `kind` for a real server on `port` (SQLite in its own folder unless `database_url`), its webhooks of
    `event_types` going to a local receiver; `settings` are added to the model-free ones."""
    receiver = await Receiver().start()
    try:
        async with model_free_server(
            port,
            KEY,
            "shanmian-workflow-",
            database_url=database_url,
            stream_handshakes_burst=1_000_000,  # the limit itself: tests/security/test_security_stream_rates.py
            webhook_allowed_targets="loopback",
            **settings,
        ) as server:
            made = kind(server.base, server.store, receiver, "", server.data_dir)
            hook = await made.call(
                "POST", "/v1/webhooks/endpoints", {"url": receiver.url, "event_types": list(event_types)}
            )
            assert hook.status_code == 201, hook.text
            made.secret = hook.json()["secret"]
            yield made
    finally:
        await receiver.stop()
