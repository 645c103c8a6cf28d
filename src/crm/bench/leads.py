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
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx

from crm.bench.events import _free_port
from crm.bench.lead_desk import COUNTRIES, SOURCES, csv_rows, setup_desk
from crm.bench.load import Connections, send_at


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
            csv_rows(rng, count, 500_000 * len(result) + 1_000_000, invalid_every=50 if not route else 0),
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
        entity = await setup_desk()
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
            async with Connections(port) as client:
                # warm-up: every process's database connections opened and their statements prepared
                await send_at(client, 20, 2, rng, 0)
                await send_at(client, 150, 3, rng, 1_000)
                steady = await send_at(client, 50, 10, rng, 10_000)
                result |= {
                    "routed_p50_ms_at_50_per_s": steady["p50_ms"],
                    "routed_p99_ms_at_50_per_s": steady["p99_ms"],
                    "routed_errors_at_50_per_s": steady["errors"],
                }
                steps, best = [], 0
                for rate in range(100, 501, 25):
                    step = await send_at(client, rate, 8, rng, 100_000 * rate)
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
