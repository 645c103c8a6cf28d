"""Pools, members, schedules, presence and published rule sets for lead tests."""

import json

from crm.core.db import current_connection, transaction
from crm.core.org.tables import Team


async def make_team(
    entity_id: int, name: str = "Sales EU", lead: int | None = None, webhook: str = ""
) -> int:
    rows = await Team.insert(
        Team(entity=entity_id, name=name, kind="sales", lead=lead, chat_webhook_url=webhook)
    ).returning(Team.id)
    return rows[0]["id"]


async def make_pool(
    entity_id: int,
    name: str,
    members: list[tuple[int, int, int]],
    *,
    team_id: int | None = None,
    sla_seconds: int = 300,
    fallback: int | None = None,
    presence: str = "available",
) -> int:
    """members: (agent id, weight, max open leads); every member is set to `presence`."""
    async with transaction():
        conn = current_connection()
        pool_id = await conn.fetchval(
            "INSERT INTO lead_pool (entity_id, name, team_id, fallback_pool_id, sla_seconds, active) "
            "VALUES ($1, $2, $3, $4, $5, true) RETURNING id",
            entity_id,
            name,
            team_id,
            fallback,
            sla_seconds,
        )
        for agent_id, weight, cap in members:
            await conn.execute(
                "INSERT INTO lead_pool_member (pool, agent_id, weight, max_open_leads, assigned_count, "
                "active) "
                "VALUES ($1, $2, $3, $4, 0, true)",
                pool_id,
                agent_id,
                weight,
                cap,
            )
            await conn.execute(
                "INSERT INTO agent_presence (agent_id, status, updated_at) VALUES ($1, $2, now()) "
                "ON CONFLICT (agent_id) DO UPDATE SET status = excluded.status",
                agent_id,
                presence,
            )
    return pool_id


async def publish_rules(kind: str, entity_id: int, rules: dict) -> int:
    async with transaction():
        version = await current_connection().fetchval(
            "SELECT coalesce(max(version), 0) + 1 FROM lead_rule_set WHERE kind = $1 AND entity_id = $2",
            kind,
            entity_id,
        )
        await current_connection().execute(
            "UPDATE lead_rule_set SET status = 'retired' WHERE kind = $1 AND entity_id = $2 AND status = "
            "'published'",
            kind,
            entity_id,
        )
        return await current_connection().fetchval(
            "INSERT INTO lead_rule_set (kind, entity_id, version, status, rules, note, created_at, "
            "published_at) "
            "VALUES ($1, $2, $3, 'published', $4::jsonb, '', now(), now()) RETURNING id",
            kind,
            entity_id,
            version,
            json.dumps(rules),
        )


def raw_lead(n: int = 1, **extra) -> dict:
    return {
        "first_name": f"Lead{n}",
        "last_name": "Example",
        "email": f"lead{n}@example.com",
        "phone": f"+447911{n:06d}",
        "country": "GB",
        **extra,
    }


async def assert_loads_match() -> None:
    """agent_load (kept by a trigger) equals a recount of every agent's open leads."""
    from crm.core.db import fetch

    rows = await fetch("""
        SELECT coalesce(l.agent_id, c.owner_id) AS agent, coalesce(l.open_leads, 0) AS kept,
               coalesce(c.n, 0) AS counted
        FROM agent_load l FULL JOIN (
            SELECT owner_id, count(*) AS n FROM lead
            WHERE owner_id IS NOT NULL AND merged_into_id IS NULL
              AND status IN ('new', 'contacted', 'interested', 'registered', 'kyc') GROUP BY owner_id) c
        ON c.owner_id = l.agent_id""")
    assert [dict(r) for r in rows if r["kept"] != r["counted"]] == []


async def spanish_desk(general_agent_name: str = "Bo English") -> tuple[dict, dict, dict]:
    """A team lead, Ana in the Spanish desk (Spanish speakers) and Bo in the general pool (everyone else)."""
    from tests.factories import make_user

    tl = await make_user(roles={"EU": ["sales_team_lead"]}, full_name="Tess Lead")
    ana = await make_user(roles={"EU": ["sales_agent"]}, full_name="Ana Spanish")
    bo = await make_user(roles={"EU": ["sales_agent"]}, full_name=general_agent_name)
    entity = tl["entities"]["EU"]
    team = await make_team(entity, lead=tl["id"])
    spanish = await make_pool(entity, "Spanish desk", [(ana["id"], 1, 20)], team_id=team)
    general = await make_pool(entity, "General", [(bo["id"], 1, 20)], team_id=team)
    await publish_rules(
        "routing",
        entity,
        {
            "rules": [{"name": "Spanish speakers", "when": {"languages": ["es"]}, "pool_id": spanish}],
            "fallback_pool_id": general,
        },
    )
    return tl, ana, bo
