"""The `shanmian` command: `serve [--host --port]` runs the server on the embedded defaults; `doctor` checks the install;
`audit verify [--anchor FILE ...]` checks the audit log's hash chain in the configured database against the heads
anchored outside it."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
import time
from pathlib import Path

import uvicorn
from sqlalchemy.ext.asyncio import create_async_engine

import models
from models import ModelError
from server import doctor, log_redaction
from server.app import create_app
from server.audit_anchor import AnchorFile, read_anchors
from server.db import audit_log
from server.probes import probe
from server.runtime import Runtime
from server.settings import Settings, SettingsError

# Frames beyond this are refused by the WebSocket layer itself; the stream's own limits are far smaller.
WS_MAX_BYTES = 1 << 20


def _banner(settings: Settings, runtime: Runtime) -> str:
    # An operator who set the key already has it; printing it would only copy it into the service's logs.
    key_line = (
        f"HR API key (generated; set SHANMIAN_API_KEY to fix it): {settings.api_key}"
        if settings.generated_api_key
        else "HR API key: the one set in SHANMIAN_API_KEY"
    )
    lines = [
        f"Shanmian listening on http://{settings.host}:{settings.port}  (OpenAPI: /schema)",
        key_line,
        f"database: {settings.sqlalchemy_url.split('@')[-1]}",
        f"event bus: {'Redis ' + settings.redis_url.split('@')[-1] if settings.redis_url else 'in memory'}",
        *(f"model: {m}" for m in runtime.loaded),
    ]
    return "\n".join(lines)


class StartupProbeFailed(RuntimeError):
    """The language model crashed or failed in a child process; loading it here would kill the server."""


async def _probe_llm(settings: Settings) -> None:
    """Runs the configured GGUF once in a child process, so a build that crashes on this CPU stops start-up with a
    message instead of a segmentation fault at the first interview.
    """
    started = time.perf_counter()
    path = await asyncio.to_thread(models.resolve, settings.llm_model)
    result = await asyncio.to_thread(probe, "llm", str(path), threads=settings.llm_threads)
    if not result.ok:
        raise StartupProbeFailed(f"the language model {path.name} failed its start-up probe: {result.detail}")
    print(f"start-up: LLM probe in a child process ok, {time.perf_counter() - started:.1f} s", flush=True)


async def _serve(settings: Settings) -> None:
    if settings.llm_backend == "llama_cpp":
        await _probe_llm(settings)
    started = time.perf_counter()
    runtime = await Runtime.load(settings)
    for step, seconds in runtime.timings:
        print(f"start-up: {step} {seconds:.1f} s", flush=True)
    print(f"start-up: models loaded in {time.perf_counter() - started:.1f} s", flush=True)
    print(_banner(settings, runtime), flush=True)
    app = create_app(settings, runtime)
    # What start-up allocated (models' Python objects, tokenizers, imports) lives as long as the process: moved out
    # of the collector's sight, a full collection no longer walks it, so it pauses every live session's event loop
    # for a fraction of the time (about 50 ms to well under 1 ms on a 2-core VM, measured after the default load).
    gc.collect()
    gc.freeze()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws_max_size=WS_MAX_BYTES,
        log_level=settings.log_level.lower(),
        # A peer that never reads must not hold a shutdown forever.
        timeout_graceful_shutdown=5,
        lifespan="on",
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        await runtime.aclose()


def _anchor_files(settings: Settings, given: list[Path] | None) -> tuple[list[AnchorFile], str] | str:
    """The anchor files to check and how the OK line names them, or why they cannot be read. The server's own file
    may be absent (a server that never ran there); a file named on the command line must be there."""
    paths = given or [settings.audit_anchor_path]
    files = []
    for path in paths:
        try:
            files.append(read_anchors(path))
        except FileNotFoundError:
            if given:
                return f"no anchor file {path}"
            return [], f"no anchor file at {path}"
        except OSError as exc:
            return f"the anchor file {path} cannot be read: {exc}"
    unreadable = sum(f.unreadable for f in files)
    return files, "from " + ", ".join(map(str, paths)) + (
        f" ({unreadable} unreadable lines left out)" if unreadable else ""
    )


async def _verify_audit(settings: Settings, anchor_paths: list[Path] | None) -> int:
    """Prints OK with the number of entries and of anchors checked, or the first entry that is not as written (or
    not as anchored); 1 then, 2 when the database has no audit chain (not migrated) or a named anchor file cannot be
    read."""
    found = _anchor_files(settings, anchor_paths)  # before the head is read: see audit_log.verify
    if isinstance(found, str):
        print(f"shanmian: {found}", file=sys.stderr)
        return 2
    files, source = found
    engine = create_async_engine(settings.sqlalchemy_url)
    try:
        verdict = await audit_log.verify(engine, [a for f in files for a in f.anchors])
    except audit_log.AuditChainMissing as exc:
        print(f"shanmian: {exc}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    state = verdict.state
    if verdict.problem is None:
        pruned = verdict.anchors_pruned
        skipped = f", {pruned} older than the chain's start skipped (their entries were pruned)" if pruned else ""
        print(
            f"OK: {verdict.rows} entries, seq {state.start_seq} to {state.head_seq}, head hash {state.head_hash}; "
            f"{verdict.anchors_checked} anchors checked{skipped}; {source}"
        )
        return 0
    print(f"FAILED at seq {verdict.problem.seq}: {verdict.problem.what} ({verdict.rows} entries read)")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shanmian", description="Shanmian, the real-time AI interview server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to bind (SHANMIAN_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (SHANMIAN_PORT, default 8000)")
    sub.add_parser("doctor", help="check this install: CPU, native builds, models (sha256) and each engine")
    audit = sub.add_parser("audit", help="the audit log in DATABASE_URL")
    verify = audit.add_subparsers(dest="audit_command", required=True).add_parser(
        "verify", help="walk the hash chain: OK with the entry count, or the first altered or missing entry (exit 1)"
    )
    verify.add_argument(
        "--anchor",
        action="append",
        type=Path,
        help="an anchor file to check the chain against, e.g. a copy kept off the machine (repeatable; default "
        "SHANMIAN_AUDIT_ANCHOR, <data dir>/audit-anchor.jsonl)",
    )
    args = parser.parse_args(argv)
    overrides = {
        k: v for k, v in (("host", getattr(args, "host", None)), ("port", getattr(args, "port", None))) if v is not None
    }
    try:
        settings = Settings.from_env(**overrides)
    except SettingsError as exc:
        print(f"shanmian: {exc}", file=sys.stderr)
        return 2
    log_redaction.install()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "doctor":
        return doctor.run(settings)
    if args.command == "audit":
        return asyncio.run(_verify_audit(settings, args.anchor))
    try:
        asyncio.run(_serve(settings))
    except (ModelError, StartupProbeFailed) as exc:
        print(f"shanmian: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
