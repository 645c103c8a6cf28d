"""The demo's sales desks: pools, shifts, presence, published scoring and routing rules, intake sources with
known demo credentials, and two weeks of sample leads (most already worked, a few fresh with a live SLA)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import re

from crm.core.cases.work import set_status as set_case_status
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction

# Known credentials so the demo's API and webhooks can be tried by hand (README); only ever seeded by `crm
# demo`.
DEMO_API_KEY = "crmk_demo_website_key_change_me"
DEMO_FORM_SECRET = "whsec_demo_meta_lead_ads"
DEMO_DIALER_SECRET = "whsec_demo_dialer"

PAID = ["google", "facebook", "instagram", "tiktok"]
SCORING = {
    "rules": [
        {"name": "Complete form", "field": "form_complete", "op": "true", "value": None, "points": 30},
        {"name": "Paid social or search", "field": "source", "op": "in", "value": PAID, "points": 20},
        {
            "name": "Tier-1 country",
            "field": "country",
            "op": "in",
            "value": ["AE", "SA", "DE", "GB", "CH", "SG"],
            "points": 15,
        },
        {"name": "KYC started", "field": "kyc_started", "op": "true", "value": None, "points": 25},
        {"name": "Demo account user", "field": "demo_sessions", "op": "gte", "value": 3, "points": 10},
    ]
}
SHIFTS = {  # email: (time zone, weekly hours); agents without a pattern are always on
    "lucia": (
        "America/Mexico_City",
        {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")},
    ),
    "karim": ("Asia/Dubai", {d: [["09:00", "21:00"]] for d in ("sun", "mon", "tue", "wed", "thu")}),
}  # every desk keeps someone without a pattern (Diego, Sven, Emma, Uma), so the demo routes at any hour
SAMPLE_COUNTRIES = [
    ("MX", "es"),
    ("CO", "es"),
    ("BR", "pt"),
    ("AR", "es"),
    ("AE", "ar"),
    ("SA", "ar"),
    ("EG", "ar"),
    ("ZA", "en"),
    ("NG", "en"),
    ("DE", "de"),
    ("ES", "es"),
    ("IT", "it"),
    ("CY", "el"),
    ("GB", "en"),
]
NAMES = [
    "Lucía Gómez",
    "Mateus Silva",
    "Omar Haddad",
    "Aisha Rahman",
    "Jonas Weber",
    "Chiara Romano",
    "Thabo Nkosi",
    "Sofía Martínez",
    "Youssef Ali",
    "Nikos Georgiou",
    "Emily Clarke",
    "Diego Torres",
    "Layla Nasser",
    "Bruno Costa",
]
PHONES = {
    "MX": "+52 55 {:04d} {:04d}",
    "CO": "+57 310 {:03d} {:04d}",
    "BR": "+55 11 9{:04d} {:04d}",
    "AR": "+54 9 11 {:04d} {:04d}",
    "AE": "+971 50 {:03d} {:04d}",
    "SA": "+966 50 {:03d} {:04d}",
    "EG": "+20 10 {:04d} {:04d}",
    "ZA": "+27 82 {:03d} {:04d}",
    "NG": "+234 803 {:03d} {:04d}",
    "DE": "+49 151 {:04d} {:04d}",
    "ES": "+34 612 {:03d} {:03d}",
    "IT": "+39 312 {:03d} {:04d}",
    "CY": "+357 99 {:03d} {:03d}",
    "GB": "+44 7911 {:03d} {:03d}",
}


async def _user(prefix: str) -> int:
    return (await fetch("SELECT id FROM staff_user WHERE email = $1", f"{prefix}@demo.example"))[0]["id"]


async def _team(entity_id: int, name: str) -> int:
    return (await fetch("SELECT id FROM team WHERE entity = $1 AND name = $2", entity_id, name))[0]["id"]


async def _pool(
    entity_id: int,
    name: str,
    team_id: int | None,
    members: list[tuple[int, int]],
    sla: int = 300,
    weighting: str = "manual",
) -> int:
    conn = current_connection()
    pool_id = await conn.fetchval(
        "INSERT INTO lead_pool (entity_id, name, team_id, sla_seconds, active, weighting) "
        "VALUES ($1, $2, $3, $4, true, $5) RETURNING id",
        entity_id,
        name,
        team_id,
        sla,
        weighting,
    )
    for agent_id, weight in members:
        await conn.execute(
            "INSERT INTO lead_pool_member (pool, agent_id, weight, max_open_leads, assigned_count, active) "
            "VALUES ($1, $2, $3, 40, 0, true)",
            pool_id,
            agent_id,
            weight,
        )
    return pool_id


async def _publish(kind: str, entity_id: int, doc: dict) -> None:
    await current_connection().execute(
        "INSERT INTO lead_rule_set (kind, entity_id, version, status, rules, note, created_at, published_at) "
        "VALUES ($1, $2, 1, 'published', $3::jsonb, 'demo rules', now(), now())",
        kind,
        entity_id,
        json.dumps(doc),
    )


async def load_sales_demo(entities: dict[str, int]) -> int:
    """Seed the desks once (when no pool exists); returns how many sample leads were added."""
    if await fetch("SELECT 1 FROM lead_pool LIMIT 1"):
        return 0
    eu, intl, uk = entities["EU"], entities["INTL"], entities["UK"]
    async with transaction():
        conn = current_connection()
        people = {
            p: await _user(p)
            for p in ("sales", "lucia", "karim", "sven", "emma", "uksales", "intllead", "eulead")
        }
        for entity_id, team, lead in (
            (intl, "Sales LatAm", "intllead"),
            (intl, "Sales MENA", "intllead"),
            (eu, "Sales EN", "eulead"),
            (uk, "Sales UK", "eulead"),
        ):
            await conn.execute(
                "UPDATE team SET lead = $2 WHERE id = $1", await _team(entity_id, team), people[lead]
            )
        latam_team, mena_team = await _team(intl, "Sales LatAm"), await _team(intl, "Sales MENA")
        latam = await _pool(
            intl, "LatAm Spanish & Portuguese", latam_team, [(people["sales"], 3), (people["lucia"], 2)]
        )
        mena = await _pool(intl, "MENA Arabic", mena_team, [(people["karim"], 1)])
        senior = await _pool(intl, "Senior desk (VIP)", latam_team, [(people["sven"], 1)], sla=120)
        fallback = await _pool(
            intl,
            "International fallback",
            latam_team,
            [(people["sales"], 1), (people["karim"], 1), (people["sven"], 1)],
            weighting="workload",
        )
        eu_desk = await _pool(eu, "EU desk", await _team(eu, "Sales EN"), [(people["emma"], 1)])
        uk_desk = await _pool(uk, "UK desk", await _team(uk, "Sales UK"), [(people["uksales"], 1)])
        await conn.execute(
            "UPDATE lead_pool SET fallback_pool_id = $2 WHERE id = ANY($1::int[])", [latam, mena], fallback
        )
        for name, (zone, hours) in SHIFTS.items():
            await conn.execute(
                "INSERT INTO agent_schedule (agent_id, timezone, hours) VALUES ($1, $2, $3::jsonb)",
                people[name],
                zone,
                json.dumps(hours),
            )
        for agent_id in people.values():
            await conn.execute(
                "INSERT INTO agent_presence (agent_id, status, updated_at) VALUES ($1, 'available', now()) "
                "ON CONFLICT (agent_id) DO NOTHING",
                agent_id,
            )
        await _publish(
            "routing",
            intl,
            {
                "rules": [
                    {
                        "name": "LatAm Spanish & Portuguese",
                        "pool_id": latam,
                        "when": {"regions": ["LATAM"], "languages": ["es", "pt"]},
                    },
                    {"name": "MENA Arabic", "pool_id": mena, "when": {"regions": ["MENA"]}},
                ],
                "overrides": {
                    "returning_client": True,
                    "ib_manager": True,
                    "vip_min_score": 80,
                    "vip_pool_id": senior,
                    "sla_by_score": [{"min_score": 70, "seconds": 180}],
                },
                "fallback_pool_id": fallback,
                "timezone": "UTC",
            },
        )
        await _publish(
            "routing",
            eu,
            {"rules": [], "overrides": {}, "fallback_pool_id": eu_desk, "timezone": "Europe/Nicosia"},
        )
        await _publish(
            "routing",
            uk,
            {"rules": [], "overrides": {}, "fallback_pool_id": uk_desk, "timezone": "Europe/London"},
        )
        for entity_id in (eu, intl, uk):
            await _publish("scoring", entity_id, SCORING)
        eu_countries = ["AT", "BE", "CY", "DE", "ES", "FR", "GR", "IE", "IT", "NL", "PL", "PT"]
        # EU residents to the EU entity, the UK to the UK one, everyone else to the international entity:
        # the last rule matches any country, so every channel (REST, forms, webhooks, imports) agrees.
        await conn.execute(
            "INSERT INTO lead_entity_rule (position, brand, countries, entity_id) VALUES "
            "(10, '', $1::jsonb, $2), (20, '', '[\"GB\"]', $3), (90, '', '[]', $4)",
            json.dumps(eu_countries),
            eu,
            uk,
            intl,
        )
        await conn.execute(
            "INSERT INTO referral_code (code, entity_id, partner_name, manager_id, active) "
            "VALUES ('IB1001', $1, 'Andes Capital Partners', $2, true)",
            intl,
            people["sven"],
        )
        # Social-ad platforms sign the body only; the demo dialer signs with a timestamp (the default scheme).
        for name, kind, secret, scheme in (
            ("Website", "api", "", "timestamped"),
            ("Meta lead ads", "webhook", DEMO_FORM_SECRET, "body"),
            ("Demo dialer", "telephony", DEMO_DIALER_SECRET, "timestamped"),
        ):
            await conn.execute(
                "INSERT INTO lead_source (name, kind, entity_id, source_label, api_key_hash, key_prefix, "
                "secret, "
                "previous_secret, signature_scheme, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                "'', $8, true, now())",
                name,
                kind,
                intl,
                "website" if kind == "api" else "",
                hashlib.sha256(DEMO_API_KEY.encode()).hexdigest() if kind == "api" else None,
                (DEMO_API_KEY if kind == "api" else secret)[:10],
                secret,
                scheme,
            )
    return await _sample_leads(intl)


async def _sample_leads(fallback_entity: int) -> int:
    from crm.leads.intake import intake

    rng = random.Random(11)
    actor = Actor.system("demo")
    now = dt.datetime.now(dt.UTC)
    made = 0
    for n in range(60):
        country, language = rng.choice(SAMPLE_COUNTRIES)
        first, last = rng.choice(NAMES).split(" ", 1)
        phone = re.sub(
            r"\{:0(\d)d\}",
            lambda m: str(rng.randint(10 ** (int(m[1]) - 1), 10 ** int(m[1]) - 1)),
            PHONES[country],
        )
        raw = {
            "first_name": first,
            "last_name": last,
            "email": f"{first.lower()}.{last.lower()}.{n}@example.com",
            "phone": phone,
            "country": country,
            "language": language,
            "source": rng.choice(PAID + ["organic", "partner"]),
            "campaign": rng.choice(["Gold Q4", "Crypto CFDs", "Brand", ""]),
            "ib_code": "IB1001" if n % 17 == 0 else "",
        }
        raw["email"] = raw["email"].encode("ascii", "ignore").decode()
        try:
            result = await intake(
                actor, raw, channel=rng.choice(["api", "webhook", "form"]), fallback_entity_id=fallback_entity
            )
        except Exception:  # a sample that does not validate is simply skipped
            continue
        made += 1
        if n >= 54:
            continue  # the newest few stay fresh: their follow-up SLA is running in the demo
        age = dt.timedelta(days=rng.uniform(0.2, 14))
        contact = dt.timedelta(seconds=rng.choice([45, 90, 150, 240, 600, 1800, 7200]))
        status = rng.choice(["contacted", "interested", "registered", "kyc", "funded", "lost"])
        async with transaction():
            conn = current_connection()
            lead = result.lead
            await conn.execute(
                "UPDATE lead SET created_at = $2, routed_at = $2, first_contact_at = $3, status = $4, "
                "lost_reason = $5 "
                "WHERE id = $1",
                lead["id"],
                now - age,
                now - age + contact,
                status,
                "not_interested" if status == "lost" else "",
            )
            case = await conn.fetchrow(
                "SELECT reference FROM work_case WHERE id = (SELECT case_id FROM lead WHERE id = $1)",
                lead["id"],
            )
            if case:
                await set_case_status(
                    actor, case["reference"], "resolved", resolution="done", reason="demo: contacted"
                )
    return made
