"""Webhook delivery throughput and delay: signed deliveries to 1 and 10 local receivers, in a second process.

Each message is fanned out to every endpoint through `hr.webhooks.fan_out` (signing, the target check, HTTP POST);
with 1, 4 or 16 messages in flight. Prints deliveries per second and the delay from an event until every endpoint
has answered 2xx (p50, p95, max over messages). The receivers answer 200 at once, so the figures are the sender's cost on this machine.
High concurrency through one httpx client gets slower, not faster (encode/httpx#3215): the rows show where.

usage: python bench/webhooks.py [--endpoints 1 10] [--messages 300] [--in-flight 1 4 16]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import sys
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import machine, pct

from hr.webhook_events import ReportReady, message_for
from hr.webhook_signing import EndpointSecrets, new_secret
from hr.webhook_targets import TargetPolicy
from hr.webhooks import Outcome, WebhookEndpoint, fan_out

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while await reader.readline():
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            writer.write(OK)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def serve(count: int, conn: Connection) -> None:
    """The receivers' process: `count` HTTP servers on 127.0.0.1; sends their ports, runs until killed."""

    async def main() -> None:
        servers = [await asyncio.start_server(_answer, "127.0.0.1", 0) for _ in range(count)]
        conn.send([s.sockets[0].getsockname()[1] for s in servers])
        await asyncio.Event().wait()

    asyncio.run(main())


async def run(ports: list[int], messages: int, in_flight: int) -> tuple[int, int, float, list[float]]:
    endpoints = [
        WebhookEndpoint(
            f"ep_{p}", f"http://127.0.0.1:{p}/hook", EndpointSecrets(new_secret()), frozenset({"report.ready"})
        )
        for p in ports
    ]
    gate, delays, delivered, rng = asyncio.Semaphore(in_flight), [], 0, random.Random(0)
    policy = TargetPolicy(allow_loopback=True)

    async def one(client: httpx.AsyncClient, i: int) -> None:
        nonlocal delivered
        async with gate:
            started = time.perf_counter()
            message = message_for(
                ReportReady(f"iv_{i}", "job_1", f"cand_{i}", f"https://hr.example/v1/interviews/iv_{i}/report"),
                datetime.now(UTC),
            )
            for delivery in await fan_out(
                client, endpoints, message, policy=policy, clock=lambda: datetime.now(UTC), sleep=asyncio.sleep, rng=rng
            ):
                delays.append(time.perf_counter() - started)
                delivered += delivery.outcome is Outcome.DELIVERED

    limits = httpx.Limits(max_connections=in_flight * len(ports), max_keepalive_connections=in_flight * len(ports))
    async with httpx.AsyncClient(limits=limits) as client:
        await one(client, -1)  # connection set-up and imports out of the timed run
        delays.clear()
        delivered = 0
        t0 = time.perf_counter()
        await asyncio.gather(*(one(client, i) for i in range(messages)))
        wall = time.perf_counter() - t0
    return messages * len(ports), delivered, wall, delays


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoints", nargs="+", type=int, default=[1, 10])
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--in-flight", nargs="+", type=int, default=[1, 4, 16])
    args = ap.parse_args()
    print(f"machine: {machine()}")
    print(f"{args.messages} messages per run, receivers in a second process")
    print(
        f"{'endpoints':>9}{'in flight':>10}{'deliveries':>12}{'ok':>7}{'wall s':>9}{'deliv/s':>9}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'load':>6}"
    )
    ctx = multiprocessing.get_context("spawn")
    for count in args.endpoints:
        parent, child = ctx.Pipe()
        receivers = ctx.Process(target=serve, args=(count, child), daemon=True)
        receivers.start()
        try:
            ports = parent.recv()
            for in_flight in args.in_flight:
                sent, ok, wall, delays = asyncio.run(run(ports, args.messages, in_flight))
                ms = [d * 1000 for d in delays]
                print(
                    f"{count:>9}{in_flight:>10}{sent:>12}{ok:>7}{wall:>9.2f}{sent / wall:>9.0f}"
                    f"{pct(ms, 50) or 0:>8.1f}{pct(ms, 95) or 0:>8.1f}{pct(ms, 100) or 0:>8.1f}{os.getloadavg()[0]:>6.1f}"
                )
        finally:
            receivers.terminate()
            receivers.join()


if __name__ == "__main__":
    main()
