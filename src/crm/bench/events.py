"""`crm bench events`: event throughput, commit-to-screen latency of live queues, and take-next under load.

1. events_per_s: 5,000 events with one no-op subscriber each, emitted in committed batches of 100, then the
   dispatcher drains them (claim, savepoint, done mark and automation-run row per delivery).
2. commit_to_sse: a real `crm web` and `crm worker`; an SSE client watching a queue; 100 times, open a case
   and time from its commit to the moment the pushed fragment containing it arrives.
3. take_next: 20 concurrent agents empty a queue of 1,000 cases; per-call latency and duplicate hand-outs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

EVENTS = 5_000
SSE_SAMPLES = int(os.environ.get("CRM_BENCH_SSE_SAMPLES", "100"))
AGENTS, QUEUE_CASES = 20, 1_000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


async def _events_per_s() -> float:
    from crm.core.context import Actor
    from crm.core.db import transaction
    from crm.core.events.dispatcher import dispatch_pending
    from crm.core.events.service import emit, subscribe

    @subscribe("bench.noop", "bench.tick")
    async def noop(event: dict) -> dict:
        return {}

    actor = Actor.system("bench")
    for start in range(0, EVENTS, 100):
        async with transaction():
            for n in range(start, start + 100):
                await emit(actor, "bench.tick", entity_id=1, subject_type="bench", subject_id=n)
    started = time.perf_counter()
    handled = await dispatch_pending(batch=200)
    assert handled == EVENTS, handled
    return round(EVENTS / (time.perf_counter() - started))


async def _setup_people() -> tuple[list, int, str]:
    from crm.core.org.roles import ensure_system_roles
    from crm.core.org.tables import AssignmentStatus, Role, RoleAssignment, StaffUser, Team
    from crm.identity.credentials import new_session_token
    from crm.identity.tables import StaffSession

    await ensure_system_roles()
    role = await Role.select(Role.id).where(Role.slug == "compliance_officer").first()
    queue_id = (await Team.insert(Team(entity=1, name="Bench queue", kind="compliance")).returning(Team.id))[
        0
    ]["id"]
    users = []
    for n in range(AGENTS):
        row = (
            await StaffUser.insert(
                StaffUser(
                    email=f"agent{n}@bench.example",
                    full_name=f"Agent {n}",
                    mfa_enrolled_at=dt.datetime.now(dt.UTC),
                )
            ).returning(StaffUser.id)
        )[0]
        await RoleAssignment.insert(
            RoleAssignment(
                user=row["id"], role=role["id"], entity=1, status=AssignmentStatus.ACTIVE, reason="bench"
            )
        )
        users.append(row["id"])
    token, token_hash = new_session_token()
    await StaffSession.insert(
        StaffSession(
            token_hash=token_hash,
            user=users[0],
            mfa_verified=True,
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        )
    )
    return users, queue_id, token


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_servers(crm: str, port: int, env: dict) -> list[subprocess.Popen]:
    """A real web server and worker for the latency run (started once, before any timing)."""
    return [
        subprocess.Popen([crm, "web", "--port", str(port)], env=env, stderr=subprocess.DEVNULL),
        subprocess.Popen([crm, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]


async def _sse_latencies(queue_id: int, token: str) -> list[float]:
    from crm.core.cases.service import open_case
    from crm.core.context import Actor
    from crm.core.db import transaction

    port = _free_port()
    crm = str(Path(sys.executable).parent / "crm")
    env = dict(os.environ) | {"CRM_LOG_LEVEL": "warning"}
    procs = _start_servers(crm, port, env)
    base = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=base, cookies={"crm_session": token}, timeout=30) as client:
            for _ in range(300):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            await asyncio.sleep(1.5)  # the worker's dispatcher is listening
            actor = Actor.system("bench")
            async with client.stream("GET", f"/cases/live?view=queue&queue_id={queue_id}") as stream:
                lines = stream.aiter_lines()
                await asyncio.wait_for(_next_rows(lines), 10)  # the initial full list
                for n in range(SSE_SAMPLES):
                    async with transaction():
                        case = await open_case(
                            actor, "alert", entity_id=1, title=f"Live bench {n}", queue_id=queue_id
                        )
                    committed = time.perf_counter()
                    while case["reference"] not in await asyncio.wait_for(_next_rows(lines), 10):
                        pass
                    latencies.append((time.perf_counter() - committed) * 1000)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
    return latencies


async def _next_rows(lines) -> str:
    """The data of the next `rows` event on an SSE stream."""
    event, data = None, []
    async for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:])
        elif line == "" and event == "rows":
            return "\n".join(data)
        elif line == "":
            event, data = None, []
    raise RuntimeError("stream ended")


async def _take_next(users: list[int], queue_id: int) -> dict:
    from crm.core.cases.service import open_case, take_next
    from crm.core.context import Actor
    from crm.core.db import fetch, transaction
    from crm.core.org.grants import grants_for

    system = Actor.system("bench")
    for start in range(0, QUEUE_CASES, 100):
        async with transaction():
            for n in range(start, start + 100):
                await open_case(system, "alert", entity_id=1, title=f"Queue bench {n}", queue_id=queue_id)
    actors = [Actor(user_id=u, label=f"agent {u}", grants=await grants_for(u)) for u in users]
    latencies: list[float] = []
    taken: list[str] = []

    async def agent(actor: Actor) -> None:
        while True:
            started = time.perf_counter()
            case = await take_next(actor, queue_id)
            latencies.append((time.perf_counter() - started) * 1000)
            if case is None:
                return
            taken.append(case["reference"])

    await asyncio.gather(*(agent(a) for a in actors))
    assigned = await fetch(
        "SELECT count(*) AS n FROM work_case WHERE queue_id = $1 AND title LIKE 'Queue bench %' "
        "AND assignee_id IS NOT NULL",
        queue_id,
    )
    return {
        "take_next_p50_ms": pct(latencies, 0.5),
        "take_next_p99_ms": pct(latencies, 0.99),
        "take_next_agents": len(actors),
        "take_next_cases": len(taken),
        "take_next_duplicates": len(taken) - len(set(taken)),
        "take_next_all_assigned": assigned[0]["n"] == QUEUE_CASES,
    }


async def bench_events(_rows: int | None = None) -> dict:
    import asyncpg

    from crm.core.db import engine, start_pool

    owner = await asyncpg.connect(os.environ["CRM_MIGRATE_DATABASE_URL"])
    await owner.execute(
        "INSERT INTO legal_entity (code, name, regulator, jurisdiction, base_currency, active, created_at) "
        "VALUES ('B1', 'Bench 1', 'CySEC', 'CY', 'EUR', true, now())"
    )
    await owner.close()
    await start_pool(2, AGENTS + 4)
    try:
        result = {"events_per_s": await _events_per_s(), "events": EVENTS}
        users, queue_id, token = await _setup_people()
        latencies = await _sse_latencies(queue_id, token)
        result |= {
            "commit_to_sse_p50_ms": pct(latencies, 0.5),
            "commit_to_sse_p95_ms": pct(latencies, 0.95),
            "commit_to_sse_p99_ms": pct(latencies, 0.99),
            "commit_to_sse_samples": len(latencies),
        }
        result |= await _take_next(users, queue_id)
    finally:
        await engine().close_connection_pool()
    return result
