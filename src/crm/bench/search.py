"""`crm bench search`: the top bar's search over 1,000,000 leads (three entities), as a team lead of all of
them, through the same function the screen calls. Figures: p50/p95 per kind of text (name prefix, first and
last name, reference, exact e-mail, exact phone) and `search_p95_ms` over all of them."""

from __future__ import annotations

import datetime as dt
import random
import time

LEADS = 1_000_000
QUERIES_PER_KIND = 200
FIRST = [
    "Ana",
    "Lucía",
    "Omar",
    "Nadia",
    "Tom",
    "Mia",
    "Sven",
    "Yuki",
    "Ravi",
    "Chen",
    "Olga",
    "Ivan",
    "Sara",
]
LAST = [
    f"{a}{b}"
    for a in ("Ruiz", "Haddad", "Okafor", "Novak", "Silva", "Tanaka", "Kowal", "Berg", "Costa")
    for b in ("", "son", "ini", "ez", "ova", "ström", "elli", "ides", "ski", "ovic")
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


async def _load(entities: list[int], n: int) -> None:
    from crm.core.db import current_connection, transaction

    rng, now = random.Random(7), dt.datetime.now(dt.UTC)
    batch = 100_000
    for start in range(0, n, batch):
        records = []
        for i in range(start, min(n, start + batch)):
            records.append(
                (
                    entities[i % len(entities)],
                    f"LD-{i + 1:07d}",
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    f"lead{i}@example.com",
                    f"lead{i}@example.com",
                    f"+4479{i:08d}",
                    "GB",
                    "new",
                    "{}",
                    "{}",
                    now,
                    now,
                )
            )
        async with transaction():
            await current_connection().copy_records_to_table(
                "lead",
                records=records,
                columns=[
                    "entity_id",
                    "reference",
                    "first_name",
                    "last_name",
                    "email",
                    "email_key",
                    "phone",
                    "country",
                    "status",
                    "signals",
                    "utm",
                    "created_at",
                    "updated_at",
                ],
            )


async def bench_search(rows: int | None) -> dict:
    from crm.core.context import Actor
    from crm.core.db import engine, fetch, start_pool
    from crm.core.permissions import Permission
    from crm.core.search import classify
    from crm.leads.search import search_leads

    await start_pool(1, 4)
    n = rows or LEADS
    await fetch(
        "INSERT INTO legal_entity (code, name, regulator, jurisdiction, base_currency, active, created_at) "
        "VALUES ('B1','Bench 1','CySEC','CY','EUR',true,now()), ('B2','Bench 2','FCA','GB','GBP',true,now()),"
        " ('B3','Bench 3','ASIC','AU','AUD',true,now())"
    )
    entities = [r["id"] for r in await fetch("SELECT id FROM legal_entity ORDER BY id")]
    started = time.perf_counter()
    await _load(entities, n)
    await fetch("ANALYZE lead")
    load_s = time.perf_counter() - started
    perms = frozenset({Permission.LEADS_LEAD_VIEW, Permission.LEADS_TEAM_VIEW})
    actor = Actor(user_id=1, label="bench", grants={e: perms for e in entities})
    rng = random.Random(11)
    texts = {
        "name_prefix": [rng.choice(LAST)[:4] for _ in range(QUERIES_PER_KIND)],
        "first_and_last": [f"{rng.choice(FIRST)} {rng.choice(LAST)[:3]}" for _ in range(QUERIES_PER_KIND)],
        "reference": [f"LD-{rng.randint(1, n):07d}" for _ in range(QUERIES_PER_KIND)],
        "email": [f"lead{rng.randrange(n)}@example.com" for _ in range(QUERIES_PER_KIND)],
        "phone": [f"+44 79{rng.randrange(n):08d}" for _ in range(QUERIES_PER_KIND)],
    }
    result: dict = {"leads": n, "load_s": round(load_s, 1)}
    import os

    if os.environ.get("CRM_BENCH_EXPLAIN"):
        from crm.core import db

        real = db.fetch

        async def explained(sql, *args):
            if sql.startswith("SET"):
                return await real(sql, *args)
            plan = await real("EXPLAIN (ANALYZE, COSTS OFF) " + sql, *args)
            print("\n".join(r[0] for r in plan))
            return await real(sql, *args)

        import crm.leads.search as module

        module.fetch = explained
        await search_leads(actor, classify("Ruiz"))
        await search_leads(actor, classify("lead5@example.com"))
        module.fetch = real
    every = []
    for kind, values in texts.items():
        timings = []
        for text in values:
            t0 = time.perf_counter()
            found = await search_leads(actor, classify(text))
            timings.append((time.perf_counter() - t0) * 1000)
            assert found or kind in ("name_prefix", "first_and_last"), (kind, text)
        every += timings
        result[f"{kind}_p50_ms"], result[f"{kind}_p95_ms"] = pct(timings, 0.5), pct(timings, 0.95)
    result["search_p95_ms"] = pct(every, 0.95)
    result["queries"] = len(every)
    await engine().close_connection_pool()
    return result
