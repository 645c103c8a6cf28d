"""The desk the lead benchmarks run against (one entity, 20 agents in four pools, published scoring and
routing rules, an API key) and the leads they send: JSON bodies, CSV files."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random

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


def phone_for(rng: random.Random, pattern: str, country: str) -> str:
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


def lead_body(rng: random.Random, n: int) -> dict:
    country, language, phone = rng.choice(COUNTRIES)
    return {
        "first_name": f"Bench{n}",
        "last_name": rng.choice(["Silva", "Haddad", "Weber", "Smith", "Nkosi"]),
        "email": f"bench{n}.{rng.randint(0, 10**9)}@example.com",
        "country": country,
        "language": language,
        "phone": phone_for(rng, phone, country),
        "source": rng.choice(SOURCES),
        "external_id": f"bench-{n}-{rng.randint(0, 10**9)}",
    }


async def setup_desk() -> int:
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


def csv_rows(rng: random.Random, rows: int, start_n: int, invalid_every: int = 0) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["first_name", "last_name", "email", "phone", "country", "language", "source"])
    for n in range(rows):
        lead = lead_body(rng, start_n + n)
        if invalid_every and n % invalid_every == 0:
            lead["phone"] = "123"  # refused: not a phone number
        writer.writerow(
            [lead[k] for k in ("first_name", "last_name", "email", "phone", "country", "language", "source")]
        )
    return out.getvalue().encode()
