"""An open-loop HTTP load generator for the intake API: keep-alive connections, requests due on schedule
whether or not earlier ones finished."""

from __future__ import annotations

import asyncio
import json
import random
import time

from crm.bench.events import pct
from crm.bench.lead_desk import API_KEY, lead_body


class Connections:
    """A light HTTP/1.1 load generator: a fixed set of keep-alive connections and a queue. (httpx costs as
    much CPU per request as the server on this 2-core machine, which would measure the client, not the
    CRM.)"""

    def __init__(self, port: int, size: int = 48):
        self.port, self.size = port, size
        self.queue: asyncio.Queue = asyncio.Queue()
        self.workers: list[asyncio.Task] = []

    async def __aenter__(self) -> Connections:
        for _ in range(self.size):
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.workers.append(asyncio.create_task(self._work(reader, writer)))
        return self

    async def __aexit__(self, *exc) -> None:
        for task in self.workers:
            task.cancel()
        await asyncio.gather(*self.workers, return_exceptions=True)

    async def _work(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            body, done = await self.queue.get()
            writer.write(
                b"POST /api/v1/leads HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer "
                + API_KEY.encode()
                + b"\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            done.set_result(status)

    async def post(self, body: bytes) -> int:
        done = asyncio.get_running_loop().create_future()
        await self.queue.put((body, done))
        return await done


async def send_at(client: Connections, rate: float, seconds: float, rng: random.Random, start_n: int) -> dict:
    """Open-loop load: requests are due on schedule whether or not earlier ones finished; latency runs from
    the moment a request was due (so waiting for a free connection counts) to its 201. Throughput is the
    steady state's: completions between the first second and the last due moment, per second (the start and
    the drain after the last request are left out; a server that cannot keep up completes fewer than offered
    there)."""
    latencies: list[float] = []
    finished: list[float] = []
    errors = 0
    count = int(rate * seconds)
    # bodies are made before the clock starts, so the load generator spends its CPU on sending only
    bodies = [json.dumps(lead_body(rng, start_n + k)).encode() for k in range(count)]

    async def one(n: int, due: float) -> None:
        nonlocal errors
        status = await client.post(bodies[n - start_n])
        if status != 201:
            errors += 1
            return
        finished.append(time.perf_counter())
        latencies.append((finished[-1] - due) * 1000)

    started = time.perf_counter()
    tasks = []
    for k in range(count):
        due = started + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(start_n + k, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    steady = sum(started + 1 <= t < started + seconds for t in finished) / (seconds - 1)
    return {
        "offered_per_s": rate,
        "completed_per_s": round(steady, 1),
        "drained_in_s": round(elapsed - seconds, 2),
        "errors": errors,
        "p50_ms": pct(latencies, 0.5) if latencies else None,
        "p99_ms": pct(latencies, 0.99) if latencies else None,
    }
