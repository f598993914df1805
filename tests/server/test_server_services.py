"""The app's services: handed out only between start and stop, started store first and stopped store last."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.bus import make_bus
from server.runtime import Runtime
from server.services import Services
from server.settings import Settings


async def test_services_exist_only_between_start_and_stop(tmp_path: Path) -> None:
    settings = Settings.from_env({}, api_key="k", data_dir=tmp_path, voice=False, llm_backend="none", plan_model="none")
    services = Services(settings, make_bus(settings), Runtime(settings))
    with pytest.raises(RuntimeError, match="not started"):
        _ = services.store
    await services.start()
    store = services.store
    assert await store.jobs() == []  # open, migrated, usable
    providers = services.providers()
    assert set(providers) == {
        "settings",
        "bus",
        "store",
        "runtime",
        "live_interviews",
        "drafts",
        "recordings",
        "rtc_peers",
        "webhooks",
        "eraser",
    }
    await services.stop()
    with pytest.raises(RuntimeError, match="not started"):
        _ = services.store
