"""Webhooks served: the outbox in the database (outbox.py), the delivery worker (worker.py), and `Webhooks`, the one
service the app starts and stops and hands to the REST API (server/api/webhooks.py)."""

from __future__ import annotations

from hr.webhook_targets import TargetPolicy
from server.db.store import Store
from server.settings import Settings, SettingsError
from server.webhooks.outbox import WebhookOutbox
from server.webhooks.worker import DeliveryWorker

TARGET_RANGES = ("loopback", "private", "link_local")


def target_policy(settings: Settings) -> TargetPolicy:
    """SHANMIAN_WEBHOOK_ALLOWED_TARGETS: the address ranges, besides the public internet, webhooks may be sent to."""
    given = {x.strip() for x in settings.webhook_allowed_targets.split(",") if x.strip()}
    unknown = given - set(TARGET_RANGES)
    if unknown:
        raise SettingsError(
            f"SHANMIAN_WEBHOOK_ALLOWED_TARGETS={settings.webhook_allowed_targets!r}: "
            f"use a comma-separated list of {', '.join(TARGET_RANGES)} (or nothing)"
        )
    return TargetPolicy(
        allow_loopback="loopback" in given, allow_private="private" in given, allow_link_local="link_local" in given
    )


class Webhooks:
    """The outbox, listening to the store's state changes, and this node's delivery worker."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.policy = target_policy(settings)
        self.outbox = WebhookOutbox(store, base_url=settings.base_url)
        self.worker = DeliveryWorker(store, self.policy)
        self.outbox.on_enqueued = self.worker.wake
        self._store = store

    def start(self) -> None:
        self._store.listeners.append(self.outbox)
        self.worker.start()

    async def aclose(self) -> None:
        if self.outbox in self._store.listeners:
            self._store.listeners.remove(self.outbox)
        await self.worker.aclose()
