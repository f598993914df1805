"""The `shanmian` command: `shanmian serve [--host --port]` runs the server on the embedded defaults."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import uvicorn

from models import ModelError
from server.app import create_app
from server.runtime import Runtime
from server.settings import Settings, SettingsError

# Frames beyond this are refused by the WebSocket layer itself; the stream's own limits are far smaller.
WS_MAX_BYTES = 1 << 20


def _banner(settings: Settings, runtime: Runtime) -> str:
    key_note = " (generated; set SHANMIAN_API_KEY to fix it)" if settings.generated_api_key else ""
    lines = [
        f"Shanmian listening on http://{settings.host}:{settings.port}  (OpenAPI: /schema)",
        f"HR API key{key_note}: {settings.api_key}",
        f"database: {settings.sqlalchemy_url.split('@')[-1]}",
        f"event bus: {'Redis ' + settings.redis_url.split('@')[-1] if settings.redis_url else 'in memory'}",
        *(f"model: {m}" for m in runtime.loaded),
    ]
    return "\n".join(lines)


async def _serve(settings: Settings) -> None:
    runtime = await Runtime.load(settings)
    print(_banner(settings, runtime), flush=True)
    app = create_app(settings, runtime)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shanmian", description="Shanmian, the real-time AI interview server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to bind (SHANMIAN_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (SHANMIAN_PORT, default 8000)")
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    try:
        settings = Settings.from_env(**overrides)
    except SettingsError as exc:
        print(f"shanmian: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(_serve(settings))
    except ModelError as exc:
        print(f"shanmian: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
