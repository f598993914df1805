"""A candidate that sends audio as fast as the socket takes it: run as its own process by test_security_audio_flood,
so that its sending costs the server, not the test's own event loop.

    python tests/security/flood_client.py STREAM_URL [WAV]

Joins in voice mode, prints "flooding" once the first question is in, sends WAV (default: silence) again and
again in 500 ms frames until it gets SIGTERM (two minutes at most) or the server drops the socket, then prints one
JSON line: frames sent, every message received, and why the socket was dropped, if it was.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
import wave

import websockets

HELLO = {"type": "hello", "mode": "voice", "audio": {"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1}}
FRAME = 16000  # bytes: 500 ms of 16 kHz mono s16, the longest frame the protocol allows


async def flood(url: str, pcm: bytes) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with websockets.connect(url, max_size=2**22) as ws:
        await ws.send(json.dumps(HELLO))
        received: list[dict[str, object]] = []
        while True:
            message = json.loads(await ws.recv())
            received.append(message)
            if message["type"] == "question":
                break

        async def read() -> None:
            async for raw in ws:
                received.append(json.loads(raw))

        reader = asyncio.create_task(read())
        print("flooding", flush=True)
        sent = 0
        dropped = None
        deadline = time.monotonic() + 120
        try:
            while time.monotonic() < deadline and not stop.is_set():
                for i in range(0, len(pcm) - FRAME + 1, FRAME):
                    await ws.send(pcm[i : i + FRAME])
                    sent += 1
                await asyncio.sleep(0)  # the reader gets a turn; the sender does not wait
            await asyncio.sleep(1.0)  # what the server answered to the last frames
        except websockets.ConnectionClosed as exc:
            # The server reads a flooding socket at the audio limit's pace, so its keepalive ping's answer waits
            # behind the flood: after a long flood the server may drop the socket (the interview itself goes on).
            dropped = str(exc)
        reader.cancel()
        print(json.dumps({"sent": sent, "received": received, "dropped": dropped}), flush=True)


def main() -> None:
    url = sys.argv[1]
    if len(sys.argv) > 2:
        with wave.open(sys.argv[2]) as w:
            pcm = w.readframes(w.getnframes())
    else:
        pcm = b"\0" * FRAME * 20
    asyncio.run(flood(url, pcm))


if __name__ == "__main__":
    main()
