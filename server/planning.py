"""Drafting in the background: a job's plan and an interview's résumé probes, off the request and the event loop.

Owns the planner model (loaded on first use, then shared by every app of the process), the drafting tasks of one
app (cancelled when it stops, redone at start-up for jobs a stopped server left in `drafting`) and what a
finished draft writes to the store. Model calls run on the backend's own worker thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any

import models
from dialogue.language import Language
from dialogue.llm import LLMBackend, LLMError, build_backend
from dialogue.plan import DEFAULT_PASS_THRESHOLD, Requisition, build_plan
from dialogue.plan_draft import DraftStats, draft_plan
from dialogue.resume_probes import draft_probes, probes_to_json
from server.db.status import InterviewStatus, JobStatus
from server.db.store import Store
from server.db.tables import JobRow
from server.settings import Settings

log = logging.getLogger(__name__)

# Room for the prompt (a résumé runs to a few thousand tokens) and a whole plan in one context.
PLANNER_CONTEXT = 4096


class PlannerModel:
    """The packaged models loaded for drafting plans and probes (and for wording questions in the languages the
    main LLM leaves out): each loaded once, on first use, and shared by every app of the process."""

    def __init__(self, settings: Settings, llm: LLMBackend | None) -> None:
        self.settings = settings
        self._llm = llm
        self._loaded: dict[str, LLMBackend] = {}
        self._lock = threading.Lock()  # a thread lock: the loading itself runs in a worker thread

    @property
    def enabled(self) -> bool:
        return self.settings.plan_model != "none"

    def _load(self, name: str, threads: int) -> LLMBackend:
        with self._lock:
            if name not in self._loaded:
                path = models.resolve(name)
                self._loaded[name] = build_backend(
                    "llama_cpp", model=str(path), n_threads=threads, n_ctx=PLANNER_CONTEXT
                )
                log.info("loaded %s (%d threads) for drafting and wording", models.describe(name), threads)
            return self._loaded[name]

    async def model(self, name: str, threads: int | None = None) -> LLMBackend:
        """The GGUF `name` (manifest name or path) as a chat backend; one instance per name in the process, with
        the threads of whoever loads it first (`plan_threads` unless given)."""
        return await asyncio.to_thread(self._load, name, threads or self.settings.plan_threads)

    async def backend(self) -> LLMBackend | None:
        """The model that drafts plans and probes; None when drafting is off."""
        if not self.enabled:
            return None
        if self.settings.plan_model == "llm":
            return self._llm
        return await self.model(self.settings.plan_model)

    async def aclose(self) -> None:
        loaded, self._loaded = self._loaded, {}
        for backend in loaded.values():
            await backend.aclose()


class Drafts:
    """One app's drafting tasks; a failed task is logged, never lost silently."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None], what: str) -> None:
        task = asyncio.create_task(work, name=what)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def requisition_of(row: JobRow) -> Requisition:
    """The requisition a stored job was created from (without questions: the one a draft starts from)."""
    language: Language = "zh" if row.language == "zh" else "en"
    return Requisition(
        title=row.title,
        description=row.description,
        requirements=tuple(row.requirements),
        language=language,
        pass_threshold=row.pass_threshold if row.pass_threshold is not None else DEFAULT_PASS_THRESHOLD,
    )


def describe(stats: DraftStats) -> str:
    """The note a drafted plan version carries: who drafted it, how long it took, what was replaced."""
    if stats.template_plan:
        why = f": {stats.problems[0]}" if stats.problems else ""
        return f"rule-based plan (no usable proposal from {stats.model}{why})"
    return (
        f"drafted by {stats.model} in {stats.seconds:.1f} s; {stats.valid_first_try} of "
        f"{stats.proposed_questions} questions valid first try, {stats.valid_on_retry} fixed on retry, "
        f"{stats.templated} from the template"
    )


async def draft_job_plan(store: Store, planner: PlannerModel | None, job_id: str, req: Requisition) -> None:
    """Draft the job's plan and store it as its first version; whatever goes wrong, the job ends up ready (with
    the rule-based plan at worst, and without a planner), never stuck in drafting."""
    try:
        backend = None if planner is None else await planner.backend()
    except (LLMError, models.ModelError) as exc:
        log.warning("planner model unavailable, job %s gets the rule-based plan: %s", job_id, exc)
        backend = None
    try:
        plan, stats = await draft_plan(backend, req)
    except Exception:  # the draft is best effort: a bug there must not leave the job unusable
        log.exception("drafting the plan of job %s failed; using the rule-based plan", job_id)
        plan, stats = build_plan(req), DraftStats(model="none", template_plan=True, problems=("drafting failed",))
    source = "rules" if stats.template_plan else "model"
    version = await store.set_job_plan(job_id, plan, source=source, note=describe(stats))
    log.info("job %s plan version %d: %s", job_id, version, describe(stats))


async def draft_interview_probes(
    store: Store, planner: PlannerModel, interview_id: str, resume: str, count: int, names: tuple[str, ...]
) -> None:
    row = await store.interview(interview_id)
    plan = None if row is None else await store.interview_plan(row)
    if plan is None:
        return
    try:
        backend = await planner.backend()
    except (LLMError, models.ModelError) as exc:
        log.warning("planner model unavailable, interview %s gets no résumé probes: %s", interview_id, exc)
        return
    probes = await draft_probes(backend, plan, resume, count=count, names=names)
    await store.set_probes(interview_id, probes_to_json(probes))
    log.info("interview %s: %d résumé probes", interview_id, len(probes))


async def redraft_unfinished(store: Store, planner: PlannerModel | None, drafts: Drafts) -> None:
    """At start-up: draft again what a stopped server left unfinished: plans still drafting, and the résumé probes
    of interviews not yet started that never got theirs (a candidate who joins later is asked them)."""
    jobs = {row.id: row for row in await store.jobs()}
    for row in jobs.values():
        if row.status == JobStatus.DRAFTING:
            drafts.start(draft_job_plan(store, planner, row.id, requisition_of(row)), f"drafting job {row.id}")
    if planner is None or not planner.enabled:
        return
    for interview in await store.interviews():
        job = jobs.get(interview.job_id)
        if interview.status != InterviewStatus.SCHEDULED or interview.probes is not None or job is None:
            continue
        candidate = await store.candidate(interview.candidate_id)
        if job.resume_probes <= 0 or candidate is None or not candidate.resume_text:
            continue
        drafts.start(
            draft_interview_probes(
                store, planner, interview.id, candidate.resume_text, job.resume_probes, (candidate.name,)
            ),
            f"résumé probes for interview {interview.id}",
        )
