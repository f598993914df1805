"""A voice interview against a Shanmian server, with WAV files standing in for the candidate's microphone.

Creates a job, a candidate and a voice interview over REST (HR API key), joins the candidate stream, and
answers each question with the next WAV file: its PCM goes out in 20 ms binary frames (in real time, or
faster with --pace), followed by silence until the server says the turn has ended. Prints the final captions,
each turn's end and each question; sends `end` once the files run out, then prints the report's summary.

    SHANMIAN_URL=http://127.0.0.1:8123 SHANMIAN_API_KEY=<key> \
        python docs/examples/voice_interview.py answer1.wav answer2.wav --pace 2

WAV files must be 16-bit PCM (any rate from 8 to 48 kHz, mono or stereo); the hello declares their format.
Needs httpx and websockets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import wave

import httpx
import websockets

FRAME_S = 0.020  # 20 ms per binary frame; the server takes 10–500 ms
SILENCE_S = 10.0  # at most this much silence after an answer while waiting for `turn_end`

JOB = {
    "title": "Backend Engineer (Java)",
    "description": "Build and run the payment platform's Java services.",
    "requirements": ["Spring Boot", "microservices", "works well under pressure"],
    "language": "en",
    "questions": [
        {"text": "Tell me about a microservices project you worked on and the biggest challenge you faced."},
        {"text": "Describe a time you had to deliver under heavy pressure. What did you do?"},
        {"text": "How do you make sure your services stay reliable in production?"},
    ],
}


def read_wav(path: str) -> tuple[bytes, int, int]:
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise SystemExit(f"{path}: {8 * w.getsampwidth()}-bit samples; the server takes 16-bit PCM")
        return w.readframes(w.getnframes()), w.getframerate(), w.getnchannels()


def create_interview(url: str, key: str) -> dict:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as hr:
        job = hr.post("/v1/jobs", json=JOB).raise_for_status().json()
        cand = hr.post("/v1/candidates", json={"name": "Grace Hopper"}).raise_for_status().json()
        body = {"job_id": job["id"], "candidate_id": cand["id"], "mode": "voice"}
        return hr.post("/v1/interviews", json=body).raise_for_status().json()


async def interview(url: str, key: str, wavs: list[str], pace: float, consent: bool) -> None:
    clips = [read_wav(p) for p in wavs]
    rates = {(rate, channels) for _, rate, channels in clips}
    if len(rates) != 1:
        raise SystemExit("all WAV files must share one sample rate and channel count (the hello declares one)")
    rate, channels = rates.pop()
    frame_bytes = int(rate * FRAME_S) * 2 * channels

    iv = create_interview(url, key)
    print(f"interview {iv['id'][:8]} ({iv['mode']})")
    ws_url = url.replace("http", "ws", 1) + f"/v1/interviews/{iv['id']}/stream?token={iv['candidate_token']}"

    async with websockets.connect(ws_url, max_size=2**22) as ws:
        hello = {
            "type": "hello",
            "mode": "voice",
            "consent": consent,
            "audio": {"encoding": "pcm_s16le", "sample_rate": rate, "channels": channels},
        }
        await ws.send(json.dumps(hello))
        questions: asyncio.Queue[dict | None] = asyncio.Queue()
        turn_ended = asyncio.Event()

        async def speak(pcm: bytes, until_turn_end: bool) -> None:
            """Frames at `pace` x real time (0: as fast as the server takes them); silence after the clip."""
            silence = bytes(frame_bytes)
            start, sent = time.monotonic(), 0.0
            frames = (pcm[i : i + frame_bytes] for i in range(0, len(pcm), frame_bytes))
            for frame in frames:
                await ws.send(frame)  # a last frame under 10 ms is accepted silently
                sent += len(frame) / (2 * channels * rate)
                if pace > 0 and (ahead := start + sent / pace - time.monotonic()) > 0:
                    await asyncio.sleep(ahead)
            while until_turn_end and not turn_ended.is_set() and sent < len(pcm) / (2 * channels * rate) + SILENCE_S:
                await ws.send(silence)
                sent += FRAME_S
                if pace > 0 and (ahead := start + sent / pace - time.monotonic()) > 0:
                    await asyncio.sleep(ahead)
                else:
                    await asyncio.sleep(0)  # let the receiver see turn_end

        async def candidate() -> None:
            for pcm, _, _ in clips:
                if await questions.get() is None:
                    return
                turn_ended.clear()
                await speak(pcm, until_turn_end=True)
            if await questions.get() is not None:
                print("  > (no more recordings: ending the interview)")
                await ws.send(json.dumps({"type": "end"}))

        speaker = asyncio.create_task(candidate())
        async for raw in ws:
            m = json.loads(raw)
            match m["type"]:
                case "ready":
                    print(f"ready (resumed={m['resumed']})")
                case "question":
                    print(f"\n[{m['kind']} {m['index']}/{m['total']} @{m['t']:.1f}s] {m['text']}")
                    questions.put_nowait(m)
                case "transcript" if m["final"]:
                    print(f"  caption {m['start']:6.2f}–{m['end']:6.2f}s: {m['text']}")
                case "turn_end":
                    print(f"  turn_end @{m['t']:.1f}s ({len(m['text'].split())} words)")
                    turn_ended.set()
                case "error":
                    print(f"  error {m['code']}: {m['message']}")
                case "report":  # the candidate's view: bands, never scores
                    mine = m["report"]
                    print(f"\nthe candidate's report: {mine['band']}")
                case "closed":
                    print(f"\nclosed: {m['reason']}")
                    break
        questions.put_nowait(None)
        speaker.cancel()

    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        stored = await http.get(f"/v1/interviews/{iv['id']}/report")  # HR's view, with the key
    if stored.status_code == 200:
        report = stored.json()
        print(f"overall {report['overall']}/10 -> {report['recommendation']} (a recommendation; people decide)")
        for d in report["dimensions"]:
            print(f"  {d['name']}: {d['score']}")
        for note in report.get("notes", []):
            print(f"  note: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("wav", nargs="+", help="one 16-bit PCM WAV file per answer, in order")
    parser.add_argument(
        "--pace",
        type=float,
        default=1.0,
        help="x real time, at most the server's audio limit (2 by default)",
    )
    parser.add_argument("--consent", action="store_true", help="consent to the interview being recorded")
    parser.add_argument("--url", default=os.environ.get("SHANMIAN_URL", "http://127.0.0.1:8123"))
    args = parser.parse_args()
    key = os.environ.get("SHANMIAN_API_KEY") or parser.error("set SHANMIAN_API_KEY to the server's API key")
    asyncio.run(interview(args.url.rstrip("/"), key, args.wav, args.pace, args.consent))


if __name__ == "__main__":
    main()
