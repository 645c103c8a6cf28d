"""`crm bench leads`: lead intake → routed + follow-up task + notifications enqueued (one committed
transaction).

Set-up: one entity, 20 agents in four pools (weights 1-3, shifts none), published scoring (4 rules) and
routing rules (3 geo/language rules, a VIP override, a fallback), leads spread over the pools.

1. routed_*_at_50_per_s: 500 leads sent at a steady 50 per second through the REST API of a real `crm web`
   (API key, JSON, normalisation, scoring, duplicate check, routing with the agent's load row locked, case,
   notification, audit, outbox). Latency is from sending the request to the 201 response (the transaction has
   committed). A warm-up first opens every process's database connections.
2. max_sustained_leads_per_s: steps of rising arrival rate, 8 s each, through the same API; the highest rate
   whose steady-state completions kept up (≥ 95 % of the offered rate) with p99 under one second.
3. import_50k_s: a 50,000-row CSV (1,000 rows invalid) validated and committed by the import job's code;
   import_routed_per_s: the rate at which the job then routes imported leads (5,000 of them, each in its own
   transaction, CRM_IMPORT_ROUTING_LANES at once).
4. whatif_100k_s: 100,000 leads (bulk-loaded) replayed against the rules: scoring, pool choice, shifts at each
   lead's arrival time and the weighted round-robin, as the what-if job does.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx

from crm.bench.events import _free_port, pct

API_KEY = "crmk_bench_key"
COUNTRIES = [
    ("MX", "es", "+52 55 {a:04d} {b:04d}"),
    ("CO", "es", "+57 310 {c:03d} {b:04d}"),
    ("AE", "ar", "+971 50 {c:03d} {b:04d}"),
    ("SA", "ar", "+966 50 {c:03d} {b:04d}"),
    ("DE", "de", "+49 151 {a:04d} {b:04d}"),
    ("GB", "en", "+44 7911 {c:03d} {d:03d}"),
    ("ZA", "en", "+27 82 {c:03d} {b:04d}"),
    ("BR", "pt", "+55 11 9{a:04d} {b:04d}"),
]
SOURCES = ["google", "facebook", "instagram", "organic", "partner"]


def _phone(rng: random.Random, pattern: str, country: str) -> str:
    """A number that passes validation (random digits do not always make a real numbering plan)."""
    from crm.leads.normalise import phone_e164

    while True:
        phone = pattern.format(
            a=rng.randint(1000, 9999),
            b=rng.randint(1000, 9999),
            c=rng.randint(200, 999),
            d=rng.randint(100, 999),
        )
        if phone_e164(phone, country):
            return phone


def _lead(rng: random.Random, n: int) -> dict:
    country, language, phone = rng.choice(COUNTRIES)
    return {
        "first_name": f"Bench{n}",
        "last_name": rng.choice(["Silva", "Haddad", "Weber", "Smith", "Nkosi"]),
        "email": f"bench{n}.{rng.randint(0, 10**9)}@example.com",
        "country": country,
        "language": language,
        "phone": _phone(rng, phone, country),
        "source": rng.choice(SOURCES),
        "external_id": f"bench-{n}-{rng.randint(0, 10**9)}",
    }


async def _setup() -> int:
    """Entity 1 with a sales team, 20 agents in four pools, published rules and an API source; returns the
    entity."""
    from crm.core.db import current_connection, transaction
    from crm.core.org.roles import ensure_system_roles

    await ensure_system_roles()
    async with transaction():
        conn = current_connection()
        entity = await conn.fetchval(
            "INSERT INTO legal_entity (code, name, regulator, jurisdiction, base_currency, active, "
            "created_at) VALUES ('B1', 'Bench 1', 'CySEC', 'CY', 'EUR', true, now()) RETURNING id"
        )
        role = await conn.fetchval("SELECT id FROM role WHERE slug = 'sales_agent'")
        team = await conn.fetchval(
            "INSERT INTO team (entity, name, kind, region, languages, active, chat_webhook_url) "
            "VALUES ($1, 'Bench sales', 'sales', '', '{}', true, '') RETURNING id",
            entity,
        )
        agents = []
        for n in range(20):
            user = await conn.fetchval(
                "INSERT INTO staff_user (email, full_name, active, created_at, must_change_password, "
                "failed_attempts) VALUES ($1, $2, true, now(), false, 0) RETURNING id",
                f"agent{n}@bench.example",
                f"Agent {n}",
            )
            await conn.execute(
                'INSERT INTO role_assignment ("user", role, entity, status, reason, valid_from, created_at) '
                "VALUES ($1, $2, $3, 'active', 'bench', now() - interval '1 minute', now())",
                user,
                role,
                entity,
            )
            await conn.execute(
                "INSERT INTO agent_presence (agent_id, status, updated_at) VALUES ($1, 'available', now())",
                user,
            )
            agents.append(user)
        pools = []
        for p, name in enumerate(("LatAm", "MENA", "Europe", "Fallback")):
            pool = await conn.fetchval(
                "INSERT INTO lead_pool (entity_id, name, team_id, sla_seconds, active) "
                "VALUES ($1, $2, $3, 300, true) RETURNING id",
                entity,
                name,
                team,
            )
            for k, agent in enumerate(agents[p * 5 : (p + 1) * 5]):
                await conn.execute(
                    "INSERT INTO lead_pool_member (pool, agent_id, weight, max_open_leads, assigned_count, "
                    "active) VALUES ($1, $2, $3, 100000, 0, true)",
                    pool,
                    agent,
                    1 + k % 3,
                )
            pools.append(pool)
        routing = {
            "rules": [
                {
                    "name": "LatAm",
                    "pool_id": pools[0],
                    "when": {"regions": ["LATAM"], "languages": ["es", "pt"]},
                },
                {"name": "MENA", "pool_id": pools[1], "when": {"regions": ["MENA"]}},
                {"name": "Europe", "pool_id": pools[2], "when": {"regions": ["EU", "EEA_OTHER"]}},
            ],
            "overrides": {"vip_min_score": 95, "vip_pool_id": pools[3]},
            "fallback_pool_id": pools[3],
            "timezone": "UTC",
        }
        scoring = {
            "rules": [
                {"name": "Complete", "field": "form_complete", "op": "true", "points": 30},
                {
                    "name": "Paid",
                    "field": "source",
                    "op": "in",
                    "value": ["google", "facebook", "instagram"],
                    "points": 20,
                },
                {
                    "name": "Tier 1",
                    "field": "country",
                    "op": "in",
                    "value": ["AE", "SA", "DE", "GB"],
                    "points": 15,
                },
                {"name": "KYC", "field": "kyc_started", "op": "true", "points": 25},
            ]
        }
        for kind, doc in (("routing", routing), ("scoring", scoring)):
            await conn.execute(
                "INSERT INTO lead_rule_set (kind, entity_id, version, status, rules, note, created_at, "
                "published_at) VALUES ($1, $2, 1, 'published', $3::jsonb, 'bench', now(), now())",
                kind,
                entity,
                json.dumps(doc),
            )
        await conn.execute(
            "INSERT INTO lead_source (name, kind, entity_id, source_label, api_key_hash, key_prefix, secret, "
            "active, created_at) VALUES ('Bench API', 'api', $1, 'api', $2, 'crmk_bench', '', true, now())",
            entity,
            hashlib.sha256(API_KEY.encode()).hexdigest(),
        )
    return entity


class _Connections:
    """A light HTTP/1.1 load generator: a fixed set of keep-alive connections and a queue. (httpx costs as
    much CPU per request as the server on this 2-core machine, which would measure the client, not the
    CRM.)"""

    def __init__(self, port: int, size: int = 48):
        self.port, self.size = port, size
        self.queue: asyncio.Queue = asyncio.Queue()
        self.workers: list[asyncio.Task] = []

    async def __aenter__(self) -> _Connections:
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


async def _send_at(
    client: _Connections, rate: float, seconds: float, rng: random.Random, start_n: int
) -> dict:
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
    bodies = [json.dumps(_lead(rng, start_n + k)).encode() for k in range(count)]

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


async def _whatif(entity: int, n_leads: int) -> float:
    from crm.core.db import current_connection, fetch, transaction
    from crm.leads.replay import simulate

    rng = random.Random(5)
    now = dt.datetime.now(dt.UTC)
    records = []
    for n in range(n_leads):
        country, language, _ = rng.choice(COUNTRIES)
        created = now - dt.timedelta(seconds=rng.uniform(0, 30 * 86400))
        records.append(
            (
                entity,
                f"W{n}",
                "Replay",
                country,
                language,
                rng.choice(SOURCES),
                "csv",
                "new",
                rng.randint(0, 90),
                "{}",
                "{}",
                created,
                created,
            )
        )
    async with transaction():
        await current_connection().copy_records_to_table(
            "lead",
            records=records,
            columns=[
                "entity_id",
                "first_name",
                "last_name",
                "country",
                "language",
                "source",
                "channel",
                "status",
                "score",
                "utm",
                "signals",
                "created_at",
                "updated_at",
            ],
        )
    routing = dict(
        (await fetch("SELECT * FROM lead_rule_set WHERE kind = 'routing' AND entity_id = $1", entity))[0]
    )
    scoring = dict(
        (await fetch("SELECT * FROM lead_rule_set WHERE kind = 'scoring' AND entity_id = $1", entity))[0]
    )
    routing["rules"], scoring["rules"] = json.loads(routing["rules"]), json.loads(scoring["rules"])
    started = time.perf_counter()
    result = await simulate(entity, routing, scoring, now - dt.timedelta(days=31))
    seconds = time.perf_counter() - started
    assert result["total"] >= n_leads, result["total"]
    return round(seconds, 2)


def _csv(rng: random.Random, rows: int, start_n: int, invalid_every: int = 0) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["first_name", "last_name", "email", "phone", "country", "language", "source"])
    for n in range(rows):
        lead = _lead(rng, start_n + n)
        if invalid_every and n % invalid_every == 0:
            lead["phone"] = "123"  # refused: not a phone number
        writer.writerow(
            [lead[k] for k in ("first_name", "last_name", "email", "phone", "country", "language", "source")]
        )
    return out.getvalue().encode()


async def _import(entity: int, rows: int, routed_rows: int) -> dict:
    """The import job's two phases, timed apart: validate + commit of `rows`, then routing of
    `routed_rows`."""
    import crm.leads.imports as imports
    from crm.core.context import Actor
    from crm.core.db import fetch
    from crm.core.jobs import JobRun
    from crm.core.org.grants import grants_for

    user = (
        await fetch(
            "INSERT INTO staff_user (email, full_name, active, created_at, must_change_password, "
            "failed_attempts) VALUES ('lead@bench.example', 'Bench Lead', true, now(), false, 0) RETURNING id"
        )
    )[0]["id"]
    await fetch(
        'INSERT INTO role_assignment ("user", role, entity, status, reason, valid_from, created_at) '
        "SELECT $1, id, $2, 'active', 'bench', now() - interval '1 minute', now() FROM role "
        "WHERE slug = 'sales_team_lead'",
        user,
        entity,
    )
    actor = Actor(user_id=user, label="Bench Lead", grants=await grants_for(user))
    run = JobRun(
        "leads.import_csv",
        "bench",
        1,
        entity,
        user,
        Actor.system("bench"),
        os.environ.get("CRM_REDIS_URL", ""),
    )
    rng = random.Random(11)
    result = {}
    for name, count, route in (("commit", rows, False), ("route", routed_rows, True)):
        import_id = await imports.start(
            actor,
            entity,
            f"bench-{name}.csv",
            _csv(rng, count, 500_000 * len(result) + 1_000_000, invalid_every=50 if not route else 0),
            route=route,
        )
        imp = dict((await fetch("SELECT * FROM lead_import WHERE id = $1", import_id))[0])
        started = time.perf_counter()
        await imports._validate_and_import(run, imp)
        committed = time.perf_counter() - started
        imp = dict((await fetch("SELECT * FROM lead_import WHERE id = $1", import_id))[0])
        if not route:
            assert imp["imported"] == count - count // 50, imp
            result |= {
                "import_rows": count,
                "import_invalid_rows": count // 50,
                "import_50k_s": round(committed, 2),
            }
            continue
        started = time.perf_counter()
        await imports._route_all(run, imp)
        routing = time.perf_counter() - started
        routed = (
            await fetch(
                "SELECT count(*) AS n FROM lead WHERE import_id = $1 AND owner_id IS NOT NULL", import_id
            )
        )[0]["n"]
        assert routed == count, routed
        result |= {"import_routed_rows": count, "import_routed_per_s": round(count / routing, 1)}
    return result


def _start_web(crm: str, port: int, env: dict) -> list[subprocess.Popen]:
    """One real web process (started before any timing)."""
    return [subprocess.Popen([crm, "web", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)]


async def bench_leads(rows: int | None = None) -> dict:
    from crm.core.db import engine, fetch, start_pool

    await start_pool(2, 8)
    try:
        entity = await _setup()
        port = _free_port()
        crm = str(Path(sys.executable).parent / "crm")
        web_processes = os.environ.get("CRM_WEB_WORKERS", "2")  # one per core, as deployed
        env = dict(os.environ) | {
            "CRM_LOG_LEVEL": "warning",
            "CRM_DB_POOL_MAX": "10",
            "CRM_WEB_WORKERS": web_processes,
        }
        procs = _start_web(crm, port, env)
        rng = random.Random(3)
        result: dict = {"web_processes": int(web_processes)}
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                for _ in range(300):
                    try:
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.1)
            async with _Connections(port) as client:
                # warm-up: every process's database connections opened and their statements prepared
                await _send_at(client, 20, 2, rng, 0)
                await _send_at(client, 150, 3, rng, 1_000)
                steady = await _send_at(client, 50, 10, rng, 10_000)
                result |= {
                    "routed_p50_ms_at_50_per_s": steady["p50_ms"],
                    "routed_p99_ms_at_50_per_s": steady["p99_ms"],
                    "routed_errors_at_50_per_s": steady["errors"],
                }
                steps, best = [], 0
                for rate in range(100, 501, 25):
                    step = await _send_at(client, rate, 8, rng, 100_000 * rate)
                    steps.append(step)
                    if (
                        step["errors"]
                        or step["p99_ms"] is None
                        or step["p99_ms"] >= 1000
                        or step["completed_per_s"] < 0.95 * rate
                    ):
                        break
                    best = rate
                    await asyncio.sleep(2)  # a pause between steps
                result |= {"max_sustained_leads_per_s": best, "ramp": steps}
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=20)
        routed = await fetch(
            "SELECT count(*) FILTER (WHERE owner_id IS NOT NULL) AS routed, count(*) AS total FROM lead"
        )
        result |= {"leads_routed": routed[0]["routed"], "leads_total": routed[0]["total"]}
        result |= await _import(entity, 50_000, 5_000)
        result["whatif_leads"] = rows or 100_000
        result["whatif_100k_s"] = await _whatif(entity, rows or 100_000)
    finally:
        await engine().close_connection_pool()
    return result
