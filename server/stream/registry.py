"""The live interviews of this process, by id: opened on a candidate's first hello, kept through reconnects."""

from __future__ import annotations

import asyncio

from litestar.channels import ChannelsPlugin

from dialogue.follow_up import FollowUpPolicy
from dialogue.interviewer import Interviewer
from server.db.store import Store, plan_from_json
from server.db.tables import InterviewRow
from server.runtime import Runtime
from server.settings import Settings
from server.stream.live import LiveInterview


class LiveInterviews:
    def __init__(self, store: Store, channels: ChannelsPlugin, runtime: Runtime, settings: Settings) -> None:
        self.store = store
        self.channels = channels
        self.runtime = runtime
        self.settings = settings
        self._live: dict[str, LiveInterview] = {}
        self._opening = asyncio.Lock()

    def get(self, interview_id: str) -> LiveInterview | None:
        return self._live.get(interview_id)

    def __len__(self) -> int:
        return len(self._live)

    async def open(self, row: InterviewRow) -> LiveInterview:
        async with self._opening:
            live = self._live.get(row.id)
            if live is not None:
                return live
            job = await self.store.job(row.job_id)
            if job is None:
                raise LookupError(f"interview {row.id} refers to job {row.job_id}, which no longer exists")
            plan = plan_from_json(job.plan)
            interviewer = Interviewer(
                plan,
                self.runtime.interviewer_models(),
                FollowUpPolicy(max_per_question=self.settings.max_follow_ups),
            )
            live = LiveInterview(
                row.id,
                plan,
                interviewer,
                store=self.store,
                channels=self.channels,
                grace_s=self.settings.reconnect_grace_s,
                on_end=self._forget,
            )
            self._live[row.id] = live
            return live

    def _forget(self, live: LiveInterview) -> None:
        if self._live.get(live.interview_id) is live:
            del self._live[live.interview_id]

    async def shutdown(self) -> None:
        for live in list(self._live.values()):
            await live.shutdown()
        self._live.clear()
