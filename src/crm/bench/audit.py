"""`crm bench audit`: audit write cost inside business transactions, chain verification speed, and the audit
screen's filtered page time on a large trail.

Steps: (1) 2,000 sequential business transactions with and without an audit row, timing the audit write;
(2) 8 concurrent writers for throughput; (3) bulk-load valid chained rows up to `verify_rows` and time
`verify_chain`; (4) grow the table to `page_rows` (later rows carry placeholder hashes: the chain is not
re-verified after this) and time real audit-screen requests with five kinds of filter.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import statistics
import time

from crm.clients.tags import ClientsTag
from crm.core.audit.chain import canonical_content, chain_hash, json_text
from crm.core.audit.tags import AccessTag

WRITES = 2_000
WRITERS, WRITES_PER_WRITER = 8, 250
VERIFY_ROWS = 1_000_000
PAGE_ROWS = 10_000_000
PAGE_REQUESTS = 60  # per filter kind
ACTIONS = [
    "clients:pii:reveal",
    "access:assignment:grant",
    "identity:signin:success",
    "kyc:review:approve",
    "payments:withdrawal:approve",
    "leads:lead:assign",
    "dealing:intervention:execute",
    "cases:case:resolve",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


async def _write_latency(actor) -> dict:
    from crm.core.audit.service import record_audit
    from crm.core.db import current_connection, transaction

    audit_ms, with_ms, without_ms = [], [], []
    for i in range(WRITES):
        started = time.perf_counter()
        async with transaction():
            await current_connection().execute("UPDATE legal_entity SET active = true WHERE id = 1")
            if i % 2:
                t0 = time.perf_counter()
                await record_audit(
                    actor,
                    ClientsTag.PII_REVEAL,
                    target_type="client",
                    target_id=i,
                    entity_id=1,
                    client_id=i % 500,
                    after={"field": "email"},
                    reason="bench",
                )
                audit_ms.append((time.perf_counter() - t0) * 1000)
        (with_ms if i % 2 else without_ms).append((time.perf_counter() - started) * 1000)
    return {
        "write_overhead_ms_p50": pct(audit_ms, 0.50),
        "write_overhead_ms_p99": pct(audit_ms, 0.99),
        "business_txn_ms_p50_without_audit": pct(without_ms, 0.50),
        "business_txn_ms_p50_with_audit": pct(with_ms, 0.50),
    }


async def _throughput(actor) -> float:
    from crm.core.audit.service import record_audit
    from crm.core.db import current_connection, transaction

    async def writer(n: int) -> None:
        for _ in range(WRITES_PER_WRITER):
            async with transaction():
                await current_connection().execute("UPDATE legal_entity SET active = true WHERE id = 1")
                await record_audit(
                    actor,
                    AccessTag.ASSIGNMENT_GRANT,
                    target_type="staff_user",
                    target_id=n,
                    entity_id=1,
                    before={"status": "pending"},
                    after={"status": "active"},
                )

    started = time.perf_counter()
    await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    return round(WRITERS * WRITES_PER_WRITER / (time.perf_counter() - started))


async def _bulk_valid_rows(conn, target: int) -> None:
    """Append correctly chained rows (same canonical form as record_audit) until the trail has `target`
    rows."""
    head = await conn.fetchrow("SELECT seq, row_hash FROM audit_chain_head WHERE id = 1")
    seq, prev = head["seq"], head["row_hash"]
    start = dt.datetime.now(dt.UTC)
    rng = random.Random(1)
    columns = [
        "seq",
        "occurred_at",
        "actor_id",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "entity_id",
        "client_id",
        "before",
        "after",
        "reason",
        "ip",
        "user_agent",
        "request_id",
        "prev_hash",
        "row_hash",
    ]
    while seq < target:
        batch = []
        for _ in range(min(50_000, target - seq)):
            seq += 1
            actor_id = rng.randint(1, 500)
            row = {
                "occurred_at": start + dt.timedelta(milliseconds=seq),
                "actor_id": actor_id,
                "actor_label": f"Agent {actor_id} <agent{actor_id}@bench.example>",
                "on_behalf_of_id": None,
                "on_behalf_of_label": None,
                "action": ACTIONS[seq % len(ACTIONS)],
                "target_type": "client",
                "target_id": str(seq % 200_000),
                "target_label": None,
                "entity_id": seq % 3 + 1,
                "client_id": seq % 200_000,
                "before": json_text({"status": "pending", "amount": "100.00"}),
                "after": json_text({"status": "done", "amount": "100.00"}),
                "reason": "bulk",
                "case_id": None,
                "ip": "10.1.2.3",
                "user_agent": "bench",
                "request_id": f"r{seq}",
                "session_id": None,
            }
            row_hash = chain_hash(prev, seq, canonical_content(row))
            batch.append(
                (
                    seq,
                    row["occurred_at"],
                    actor_id,
                    row["actor_label"],
                    row["action"],
                    "client",
                    row["target_id"],
                    row["entity_id"],
                    row["client_id"],
                    row["before"],
                    row["after"],
                    "bulk",
                    "10.1.2.3",
                    "bench",
                    row["request_id"],
                    prev,
                    row_hash,
                )
            )
            prev = row_hash
        await conn.copy_records_to_table("audit_record", records=batch, columns=columns)
    await conn.execute("UPDATE audit_chain_head SET seq = $1, row_hash = $2 WHERE id = 1", seq, prev)


GROW = """
INSERT INTO audit_record (seq, occurred_at, actor_id, actor_label, action, target_type, target_id, entity_id,
                          client_id, after, reason, ip, prev_hash, row_hash)
SELECT s, $3::timestamptz + s * interval '1 millisecond', 1 + s % 500, 'Agent ' || (1 + s % 500),
       (ARRAY['clients:pii:reveal','access:assignment:grant','identity:signin:success','kyc:review:approve',
              'payments:withdrawal:approve','leads:lead:assign','dealing:intervention:execute',
              'cases:case:resolve'])[1 + s % 8],
       'client', (s % 200000)::text, 1 + s % 3, s % 200000, '{"status": "done"}', 'bulk', '10.1.2.3', 'x', 'x'
FROM generate_series($1::bigint, $2::bigint) AS s
"""


async def _grow(conn, target: int) -> None:
    current = await conn.fetchval("SELECT max(seq) FROM audit_record")
    start = dt.datetime.now(dt.UTC)
    while current < target:
        upto = min(target, current + 1_000_000)
        await conn.execute(GROW, current + 1, upto, start)
        current = upto
    await conn.execute("UPDATE audit_chain_head SET seq = $1 WHERE id = 1", current)
    await conn.execute("ANALYZE audit_record")


async def bench_audit(rows: int | None) -> dict:
    import asyncpg

    from crm.core.context import Actor, RequestMeta
    from crm.core.db import engine, start_pool

    page_rows = rows or PAGE_ROWS
    verify_rows = min(VERIFY_ROWS, page_rows)
    owner = await asyncpg.connect(__import__("os").environ["CRM_MIGRATE_DATABASE_URL"])
    await owner.execute(
        "INSERT INTO legal_entity (code, name, regulator, jurisdiction, base_currency, active, created_at) "
        "VALUES ('B1','Bench 1','CySEC','CY','EUR',true,now()), ('B2','Bench 2','FCA','GB','GBP',true,now()),"
        " ('B3','Bench 3','ASIC','AU','AUD',true,now())"
    )
    await start_pool(2, WRITERS + 2)
    actor = Actor(
        user_id=1, label="Bench <bench@bench.example>", meta=RequestMeta(ip="127.0.0.1", user_agent="bench")
    )
    result = await _write_latency(actor)
    result["audit_rows_per_s"] = await _throughput(actor)
    result["audit_writers"] = WRITERS

    await _bulk_valid_rows(owner, verify_rows)
    from crm.core.audit.verify import verify_chain

    started = time.perf_counter()
    verified = await verify_chain(owner, dsn=__import__("os").environ["CRM_MIGRATE_DATABASE_URL"], workers=2)
    elapsed = time.perf_counter() - started
    assert verified.ok, verified
    result |= {
        "verify_rows": verified.rows_checked,
        "verify_rows_per_s": round(verified.rows_checked / elapsed),
    }

    await _grow(owner, page_rows)
    result |= await page_timings(owner, page_rows)
    await owner.close()
    if engine().pool is not None:
        await engine().close_connection_pool()
    return result


async def page_timings(owner, page_rows: int) -> dict:
    """Time real GET /audit requests (full page, 50 rows) as a group-level auditor, five kinds of filter."""
    import httpx

    from crm.app import create_app
    from crm.core.org.roles import ensure_system_roles
    from crm.core.org.tables import AssignmentStatus, Role, RoleAssignment, StaffUser
    from crm.identity.credentials import new_session_token
    from crm.identity.tables import StaffSession
    from crm.settings import Settings

    await ensure_system_roles()
    rows = await StaffUser.insert(
        StaffUser(
            email="auditor@bench.example", full_name="Bench Auditor", mfa_enrolled_at=dt.datetime.now(dt.UTC)
        )
    ).returning(StaffUser.id)
    user_id = rows[0]["id"]
    role = await Role.select(Role.id).where(Role.slug == "auditor").first()
    for entity in (1, 2, 3):
        await RoleAssignment.insert(
            RoleAssignment(
                user=user_id, role=role["id"], entity=entity, status=AssignmentStatus.ACTIVE, reason="bench"
            )
        )
    token, token_hash = new_session_token()
    await StaffSession.insert(
        StaffSession(
            token_hash=token_hash,
            user=user_id,
            mfa_verified=True,
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        )
    )
    first = await owner.fetchval("SELECT occurred_at FROM audit_record WHERE seq = 1")
    last = await owner.fetchval("SELECT max(occurred_at) FROM audit_record")
    rng = random.Random(3)

    def day() -> str:
        return (first + (last - first) * rng.random()).date().isoformat()

    filters = {
        "actor": lambda: f"actor_id={rng.randint(1, 500)}",
        "client": lambda: f"client_id={rng.randint(1, 199_999)}",
        "entity_action_prefix": lambda: f"entity_id={rng.randint(1, 3)}&action=payments:",
        "actor_and_date_range": lambda: (
            (d := day()) and f"actor_id={rng.randint(1, 500)}&date_from={d}&date_to={d}"
        ),
        "action_older_page": lambda: (
            f"action={rng.choice(ACTIONS)}&before_seq={rng.randint(page_rows // 2, page_rows)}"
        ),
    }
    app = create_app(Settings.from_env())
    timings: dict[str, list[float]] = {name: [] for name in filters}
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://bench", cookies={"crm_session": token}
        ) as client,
    ):
        for name, make in filters.items():
            for _ in range(PAGE_REQUESTS):
                url = f"/audit?{make()}"
                started = time.perf_counter()
                response = await client.get(url)
                timings[name].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (url, response.status_code)
    everything = [t for values in timings.values() for t in values]
    return {
        "audit_page_rows": page_rows,
        "audit_page_requests": len(everything),
        "audit_page_p50_ms": pct(everything, 0.50),
        "audit_page_p95_ms": pct(everything, 0.95),
        "audit_page_p95_ms_by_filter": {name: pct(values, 0.95) for name, values in timings.items()},
        "audit_page_mean_ms": round(statistics.fmean(everything), 2),
    }
