"""`crm bench pages`: the server time of every staff list and detail page, signed in, on a big book of
business: 1,000,000 leads (one agent holding ~16,000 of them), 1,000,000 cases and 10,000,000 audit rows over
three entities (`--rows N` scales leads and cases to N and the audit trail to 10 N).

Each page is requested through the real app (ASGI, full middleware and templates) by a super administrator
(every page, every entity) and the busy agent (their own lists); the figure per page is the p95 of its
requests, and `page_p95_ms_max` the slowest page's. The top bar's search is timed the same way.
"""

from __future__ import annotations

import datetime as dt
import random
import time

from crm.bench.audit import GROW
from crm.bench.search import FIRST, LAST, pct

LEADS = 1_000_000
REQUESTS = 40  # per page
STATUSES = ["new", "contacted", "interested", "registered", "kyc", "funded", "lost"]
SOURCES = ["google", "facebook", "instagram", "tiktok", "partner", "organic"]


async def _entities_and_staff(conn) -> tuple[list[int], int, list[list[int]]]:
    """Three entities, each with a sales team, a pool and 20 agents; returns (entities, the admin's id,
    the agents of each entity)."""
    from crm.core.org.tables import AssignmentStatus, Role, RoleAssignment, StaffUser, Team
    from crm.leads.tables import Pool, PoolMember

    await conn.execute(
        "INSERT INTO legal_entity (code, name, regulator, jurisdiction, base_currency, active, created_at) "
        "VALUES ('B1','Bench 1','CySEC','CY','EUR',true,now()), ('B2','Bench 2','FCA','GB','GBP',true,now()),"
        " ('B3','Bench 3','ASIC','AU','AUD',true,now())"
    )
    entities = [r["id"] for r in await conn.fetch("SELECT id FROM legal_entity ORDER BY id")]
    now = dt.datetime.now(dt.UTC)
    users = [
        StaffUser(
            email=f"user{i}@bench.example",
            full_name=f"Agent {i}" if i else "Bench Admin",
            home_entity=entities[i % 3],
            mfa_enrolled_at=now,
        )
        for i in range(61)
    ]
    ids = [r["id"] for r in await StaffUser.insert(*users).returning(StaffUser.id)]
    admin, agents = ids[0], ids[1:]
    roles = {r["slug"]: r["id"] for r in await Role.select(Role.id, Role.slug)}
    by_entity = [[a for i, a in enumerate(agents) if i % 3 == k] for k in range(3)]
    grants = [
        RoleAssignment(
            user=admin, role=roles["super_admin"], entity=e, status=AssignmentStatus.ACTIVE, reason="bench"
        )
        for e in entities
    ]
    for entity, group in zip(entities, by_entity, strict=True):
        grants += [
            RoleAssignment(
                user=a,
                role=roles["sales_agent"],
                entity=entity,
                status=AssignmentStatus.ACTIVE,
                reason="bench",
            )
            for a in group
        ]
        team = (
            await Team.insert(
                Team(entity=entity, name="Sales", kind="sales", region="Europe", languages=["en"])
            ).returning(Team.id)
        )[0]["id"]
        pool = (await Pool.insert(Pool(entity_id=entity, name="Desk", team_id=team)).returning(Pool.id))[0][
            "id"
        ]
        await PoolMember.insert(*[PoolMember(pool=pool, agent_id=a, max_open_leads=20_000) for a in group])
    await RoleAssignment.insert(*grants)
    return entities, admin, by_entity


async def _leads(conn, entities: list[int], by_entity: list[list[int]], n: int) -> None:
    rng, now = random.Random(5), dt.datetime.now(dt.UTC)
    pools = {r["entity_id"]: r["id"] for r in await conn.fetch("SELECT id, entity_id FROM lead_pool")}
    columns = [
        "entity_id",
        "reference",
        "first_name",
        "last_name",
        "email",
        "email_key",
        "phone",
        "country",
        "language",
        "source",
        "status",
        "owner_id",
        "pool_id",
        "first_contact_at",
        "signals",
        "utm",
        "created_at",
        "updated_at",
    ]
    for start in range(0, n, 100_000):
        records = []
        for i in range(start, min(n, start + 100_000)):
            entity, group = entities[i % 3], by_entity[i % 3]
            owner = group[(i // 3) % len(group)] if rng.random() > 0.1 else None  # a tenth waits unassigned
            created = now - dt.timedelta(seconds=rng.randint(0, 30 * 86_400))
            status = rng.choice(STATUSES) if owner else "new"
            contact = created + dt.timedelta(seconds=rng.expovariate(1 / 240)) if status != "new" else None
            email = f"lead{i}@example.com"
            records.append(
                (
                    entity,
                    f"LD-{i + 1:07d}",
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    email,
                    email,
                    f"+4479{i:08d}",
                    "GB",
                    "en",
                    rng.choice(SOURCES),
                    status,
                    owner,
                    pools[entity],
                    contact,
                    "{}",
                    "{}",
                    created,
                    created,
                )
            )
        await conn.copy_records_to_table("lead", records=records, columns=columns)


async def _cases(conn, entities: list[int], by_entity: list[list[int]], n: int) -> None:
    rng, now = random.Random(9), dt.datetime.now(dt.UTC)
    queues = {r["entity"]: r["id"] for r in await conn.fetch("SELECT id, entity FROM team")}
    columns = [
        "reference",
        "kind",
        "title",
        "entity_id",
        "priority",
        "status",
        "queue_id",
        "assignee_id",
        "sla_due_at",
        "created_at",
        "updated_at",
    ]
    for start in range(0, n, 100_000):
        records = []
        for i in range(start, min(n, start + 100_000)):
            entity = entities[i % 3]
            created = now - dt.timedelta(seconds=rng.randint(0, 60 * 86_400))
            status = rng.choice(["open", "in_progress", "waiting", "resolved", "resolved", "closed"])
            records.append(
                (
                    f"CASE-{i + 1:06d}",
                    "manual",
                    f"Follow up client {i}",
                    entity,
                    rng.randint(1, 4),
                    status,
                    queues[entity],
                    by_entity[i % 3][(i // 3) % len(by_entity[i % 3])] if i % 4 else None,
                    created + dt.timedelta(hours=24),
                    created,
                    created,
                )
            )
        await conn.copy_records_to_table("work_case", records=records, columns=columns)


async def _session(user_id: int) -> str:
    from crm.identity.credentials import new_session_token
    from crm.identity.tables import StaffSession

    token, token_hash = new_session_token()
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    await StaffSession.insert(
        StaffSession(token_hash=token_hash, user=user_id, mfa_verified=True, expires_at=expires)
    )
    return token


async def bench_pages(rows: int | None) -> dict:
    import os

    import asyncpg
    import httpx

    from crm.app import create_app
    from crm.core.org.roles import ensure_system_roles
    from crm.leads.figures import refresh_figures
    from crm.settings import Settings

    n = rows or LEADS
    owner = await asyncpg.connect(os.environ["CRM_MIGRATE_DATABASE_URL"])
    await ensure_system_roles()
    started = time.perf_counter()
    entities, admin, by_entity = await _entities_and_staff(owner)
    busy = by_entity[0][0]
    await _leads(owner, entities, by_entity, n)
    await _cases(owner, entities, by_entity, n)
    await owner.execute("SELECT setval('work_case_id_seq', (SELECT max(id) FROM work_case))")
    await owner.execute(GROW, 1, 10 * n, dt.datetime.now(dt.UTC) - dt.timedelta(days=60))
    await owner.execute("UPDATE audit_chain_head SET seq = $1 WHERE id = 1", 10 * n)
    await owner.execute("ANALYZE")
    app = create_app(Settings.from_env())
    async with app.lifespan():
        await refresh_figures(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=366))
        load_s = time.perf_counter() - started
        lead_ref = await owner.fetchval("SELECT reference FROM lead WHERE owner_id = $1 LIMIT 1", busy)
        case_ref = await owner.fetchval("SELECT reference FROM work_case ORDER BY id DESC LIMIT 1")
        queue = await owner.fetchval("SELECT id FROM team ORDER BY id LIMIT 1")
        held = await owner.fetchval("SELECT count(*) FROM lead WHERE owner_id = $1", busy)
        # a cursor half-way down the score order and the case age order: a deep page costs what the first does
        deep_lead = await owner.fetchrow(
            "SELECT score, id FROM lead ORDER BY score DESC, id DESC OFFSET $1 LIMIT 1", n // 2
        )
        deep_case = await owner.fetchval(
            "SELECT id FROM work_case ORDER BY id DESC OFFSET $1 LIMIT 1", n // 2
        )
        pages = {
            "admin": [
                "/",
                "/leads/all",
                "/leads/all?q=Ruiz",
                "/leads/all?status=new",
                "/leads/all?status=any&sort=-score",
                "/leads/all?sort=name",
                f"/leads/all?status=any&sort=-score&after={deep_lead['score']}~{deep_lead['id']}",
                "/leads/unassigned",
                "/leads/dashboard",
                f"/leads/{lead_ref}",
                "/leads/routing",
                "/leads/pools",
                "/leads/sources",
                "/leads/imports",
                "/cases",
                "/cases/all",
                "/cases/all?status=open",
                "/cases/all?sort=due",
                f"/cases/all?status=&sort=-opened&after={deep_case}~{deep_case}",
                f"/cases/queues/{queue}",
                f"/cases/{case_ref}",
                "/approvals",
                "/audit",
                "/audit?actor_id=7",
                "/audit?action=payments:",
                "/admin/users",
                f"/admin/users/{busy}",
                "/admin/roles",
                "/admin/automation",
                "/admin/webhooks",
                "/admin/dead-letters",
                "/notifications",
                "/admin/brands",
            ],
            "agent": ["/", "/leads", "/cases", f"/leads/{lead_ref}"],
        }
        searches = ["Ruiz", "Ana Costa", "LD-0000042", f"lead{n // 2}@example.com", "+44 7900000077"]
        tokens = {"admin": await _session(admin), "agent": await _session(busy)}
        timings: dict[str, list[float]] = {}
        for who, urls in pages.items():
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="https://bench",
                cookies={"crm_session": tokens[who]},
            ) as client:
                for url in urls + [f"/search?q={q}" for q in searches if who == "admin"]:
                    key = f"{who} {url}"
                    timings[key] = []
                    for _ in range(REQUESTS + 2):
                        t0 = time.perf_counter()
                        response = await client.get(url)
                        timings[key].append((time.perf_counter() - t0) * 1000)
                        assert response.status_code == 200, (url, response.status_code)
                    timings[key] = timings[key][2:]  # the first two warm the caches
    await owner.close()
    page_p95 = {k: pct(v, 0.95) for k, v in timings.items() if "/search?" not in k}
    search = [t for k, v in timings.items() if "/search?" in k for t in v]
    slowest = max(page_p95, key=page_p95.get)
    return {
        "leads": n,
        "cases": n,
        "audit_rows": 10 * n,
        "busy_agent_leads": held,
        "load_s": round(load_s, 1),
        "pages_measured": len(page_p95),
        "requests_per_page": REQUESTS,
        "page_p95_ms_max": page_p95[slowest],
        "slowest_page": slowest,
        "search_p95_ms": pct(search, 0.95),
        "page_p95_ms": page_p95,
    }
