"""Observer fan-out delay: an event published on an interview's channel -> received by each observer's socket.

Runs a real server in this process (the in-memory bus, then Redis) and 1, 10 and 100 observers of one interview
in a child process; each event carries its publish time (CLOCK_MONOTONIC is system-wide on Linux, so the child
can compare). Prints p50/p95/max per configuration.

usage: python bench/observers.py [--events 100] [--rate 20] [--redis-url redis://127.0.0.1:6379/0] [--no-redis]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def observers_main(url: str, n: int, expected: int, conn: Any) -> None:
    """Child process: n observers; sends back every (publish -> receive) delay in seconds."""
    import websockets

    async def one(delays: list[float], ready: asyncio.Event, count: list[int]) -> None:
        async with websockets.connect(url, max_size=2**22) as ws:
            count[0] += 1
            if count[0] == n:
                ready.set()
            got = 0
            while got < expected:
                raw = await asyncio.wait_for(ws.recv(), 30)
                now = time.perf_counter()
                message = json.loads(raw)
                if "t_pub" in message:
                    delays.append(now - message["t_pub"])
                    got += 1

    async def main() -> None:
        delays: list[float] = []
        ready = asyncio.Event()
        count = [0]
        tasks = [asyncio.create_task(one(delays, ready, count)) for _ in range(n)]
        await asyncio.wait_for(ready.wait(), 60)
        await asyncio.sleep(0.5)  # every observer has subscribed (the handler subscribes right after accept)
        conn.send("ready")
        await asyncio.gather(*tasks)
        conn.send(delays)

    asyncio.run(main())


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


async def run_config(redis_url: str, counts: list[int], events: int, rate: float) -> list[dict[str, Any]]:
    import uvicorn

    from server.app import create_app
    from server.bus import channel_name
    from server.cli import WS_MAX_BYTES
    from server.runtime import Runtime
    from server.settings import Settings

    rows = []
    with tempfile.TemporaryDirectory() as data:
        settings = Settings.from_env(
            {"SHANMIAN_VOICE": "0"},
            api_key="bench",
            port=_free_port(),
            data_dir=Path(data),
            llm_backend="none",
            redis_url=redis_url,
            redis_prefix=f"shanmian-bench-{uuid.uuid4().hex[:8]}",
            stream_rate_limit_burst=1000,
            stream_handshakes_burst=1_000_000,  # every observer connects from this one address
        )
        runtime = await Runtime.load(settings)
        app = create_app(settings, runtime)
        server = uvicorn.Server(
            uvicorn.Config(app, port=settings.port, ws_max_size=WS_MAX_BYTES, log_level="warning", lifespan="on")
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110  (uvicorn offers a flag, not an event)
            await asyncio.sleep(0.02)
        try:
            bus = app.state.bus
            store = app.state.services.store
            from server.db.tables import CandidateRow, InterviewRow, JobRow

            for n in counts:
                iid = uuid.uuid4().hex
                job = await store.add_job(
                    JobRow(id=uuid.uuid4().hex, title="b", description="", requirements=[], language="en",
                           pass_threshold=6.0, plan={})
                )
                cand = await store.add_candidate(CandidateRow(id=uuid.uuid4().hex, name="b", email=None, resume_text=None))
                await store.add_interview(
                    InterviewRow(id=iid, job_id=job.id, candidate_id=cand.id, mode="text", status="live",
                                 candidate_token=uuid.uuid4().hex, observer_token=uuid.uuid4().hex)
                )
                url = f"ws://127.0.0.1:{settings.port}/v1/interviews/{iid}/observe?token=bench"
                parent, child = mp.Pipe()
                proc = mp.get_context("spawn").Process(target=observers_main, args=(url, n, events, child))
                proc.start()
                assert await asyncio.to_thread(parent.recv) == "ready"
                for seq in range(1, events + 1):
                    body = {"type": "transcript", "final": False, "text": "partial words " * 4, "start": 0.0,
                            "end": 0.0, "seq": seq, "t": 0.0, "t_pub": time.perf_counter()}
                    bus.plugin.publish(json.dumps(body).encode(), channel_name(iid))
                    await asyncio.sleep(1 / rate)
                delays = await asyncio.to_thread(parent.recv)
                proc.join(10)
                ms = [d * 1000 for d in delays]
                rows.append({
                    "bus": "redis" if redis_url else "memory", "observers": n, "events": len(ms),
                    "p50_ms": round(pct(ms, 50), 2), "p95_ms": round(pct(ms, 95), 2), "max_ms": round(max(ms), 2),
                    "mean_ms": round(statistics.mean(ms), 2),
                })
                print(json.dumps(rows[-1]), flush=True)
        finally:
            server.should_exit = True
            await serving
            await runtime.aclose()
    return rows


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100, help="events published per configuration")
    ap.add_argument("--rate", type=float, default=20.0, help="events per second (partial transcripts come ~10/s)")
    ap.add_argument("--observers", default="1,10,100")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--no-redis", action="store_true")
    args = ap.parse_args()
    counts = [int(x) for x in args.observers.split(",")]
    rows = asyncio.run(run_config("", counts, args.events, args.rate))
    if not args.no_redis:
        rows += asyncio.run(run_config(args.redis_url, counts, args.events, args.rate))
    print()
    print(f"{'bus':8} {'observers':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for r in rows:
        print(f"{r['bus']:8} {r['observers']:>9} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['max_ms']:>8}")


if __name__ == "__main__":
    main()
