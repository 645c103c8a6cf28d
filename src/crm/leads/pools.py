"""Pools and their members (weight, capacity): the operational side of routing, with each agent's shifts and
days off (shifts.py) and the performance factor (performance.py).

These change during the day (someone is ill, a desk is swamped), so they take effect at once rather than
through approval; each change is audited with before and after. The rules that choose pools are versioned and
approved (rulesets.py)."""

from __future__ import annotations

import datetime as dt

from crm.core.audit.service import record_audit
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import ValidationFailed
from crm.core.inputs import parse_int
from crm.core.permissions import Permission
from crm.core.scope import in_scope
from crm.leads import rules
from crm.leads.routing import pool_candidates
from crm.leads.tables import OPEN_LEAD_STATUSES
from crm.leads.tags import LeadsTag


async def pools_in(actor: Actor, entity_id: int) -> list[dict]:
    actor.require(Permission.LEADS_ROUTING_MANAGE, entity_id)
    return [
        dict(r)
        for r in await fetch(
            """SELECT p.*, t.name AS team_name, f.name AS fallback_name,
                  (SELECT count(*) FROM lead_pool_member m WHERE m.pool = p.id AND m.active) AS members,
                  (SELECT count(*) FROM (SELECT 1 FROM lead l WHERE l.pool_id = p.id
                     AND l.status = ANY($2::text[]) AND l.merged_into_id IS NULL LIMIT 10001) x) AS open_leads
           FROM lead_pool p LEFT JOIN team t ON t.id = p.team_id LEFT JOIN lead_pool f
               ON f.id = p.fallback_pool_id
           WHERE p.entity_id = $1 ORDER BY p.name""",
            entity_id,
            list(OPEN_LEAD_STATUSES),
        )
    ]


async def pool(actor: Actor, pool_id: int) -> dict:
    rows = await fetch("SELECT * FROM lead_pool WHERE id = $1", pool_id)
    return in_scope(actor, Permission.LEADS_ROUTING_MANAGE, rows[0] if rows else None, "Pool")


async def members(pool_row: dict) -> list[dict]:
    """Members with their live state: presence, shift now, open leads against capacity, eligibility."""
    _, live = await pool_candidates(pool_row["id"], pool_row["entity_id"], dt.datetime.now(dt.UTC))
    candidates = {c.agent_id: c for c in live}
    rows = await fetch(
        """SELECT m.*, u.full_name, u.email FROM lead_pool_member m JOIN staff_user u ON u.id = m.agent_id
                          WHERE m.pool = $1 ORDER BY u.full_name""",
        pool_row["id"],
    )
    return [dict(r) | {"live": candidates.get(r["agent_id"])} for r in rows]


def _pool_fields(form: dict) -> dict:
    errors = {}
    name = " ".join(str(form.get("name") or "").split())
    if not 2 <= len(name) <= 80:
        errors["name"] = "2 to 80 characters."
    try:
        minutes = float(form.get("sla_minutes") or 5)
        if not 0.5 <= minutes <= 7 * 24 * 60:
            raise ValueError
    except ValueError:
        errors["sla_minutes"] = "Minutes, from 0.5 to a week."
        minutes = 5
    weighting = str(form.get("weighting") or "manual")
    if weighting not in rules.SHARING:
        errors["weighting"] = "Choose how the pool shares its leads."
    if errors:
        raise ValidationFailed("Please correct the pool", field_errors=errors)
    team = str(form.get("team") or "")
    fallback = str(form.get("fallback") or "")
    return {
        "name": name,
        "sla_seconds": int(minutes * 60),
        "team_id": parse_int(team),
        "fallback_pool_id": parse_int(fallback),
        "weighting": weighting,
        "active": form.get("active") == "on" if form.get("active_sent") else True,
    }


async def _check_links(entity_id: int, fields: dict, pool_id: int | None = None) -> None:
    if fields["team_id"] and not await fetch(
        "SELECT 1 FROM team WHERE id = $1 AND entity = $2", fields["team_id"], entity_id
    ):
        raise ValidationFailed(
            "Choose a team of this entity", field_errors={"team": "Choose a team of this entity."}
        )
    if fields["fallback_pool_id"]:
        if fields["fallback_pool_id"] == pool_id or not await fetch(
            "SELECT 1 FROM lead_pool WHERE id = $1 AND entity_id = $2", fields["fallback_pool_id"], entity_id
        ):
            raise ValidationFailed(
                "Choose another pool of this entity",
                field_errors={"fallback": "Another pool of this entity."},
            )


async def create_pool(actor: Actor, entity_id: int, form: dict) -> int:
    actor.require(Permission.LEADS_ROUTING_MANAGE, entity_id)
    fields = _pool_fields(form)
    await _check_links(entity_id, fields)
    async with transaction():
        pool_id = await current_connection().fetchval(
            "INSERT INTO lead_pool (entity_id, name, team_id, fallback_pool_id, sla_seconds, active, "
            "weighting) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            entity_id,
            fields["name"],
            fields["team_id"],
            fields["fallback_pool_id"],
            fields["sla_seconds"],
            fields["active"],
            fields["weighting"],
        )
        await record_audit(
            actor,
            LeadsTag.POOL_CREATE,
            target_type="lead_pool",
            target_id=pool_id,
            target_label=fields["name"],
            entity_id=entity_id,
            after=fields,
        )
    return pool_id


async def update_pool(actor: Actor, pool_id: int, form: dict) -> None:
    current = await pool(actor, pool_id)
    fields = _pool_fields(form)
    await _check_links(current["entity_id"], fields, pool_id)
    async with transaction():
        await current_connection().execute(
            "UPDATE lead_pool SET name = $2, team_id = $3, fallback_pool_id = $4, sla_seconds = $5, active = "
            "$6, "
            "weighting = $7 WHERE id = $1",
            pool_id,
            fields["name"],
            fields["team_id"],
            fields["fallback_pool_id"],
            fields["sla_seconds"],
            fields["active"],
            fields["weighting"],
        )
        await record_audit(
            actor,
            LeadsTag.POOL_UPDATE,
            target_type="lead_pool",
            target_id=pool_id,
            target_label=fields["name"],
            entity_id=current["entity_id"],
            before={k: current[k] for k in fields},
            after=fields,
        )


async def set_member(
    actor: Actor, pool_id: int, agent_id: int | None, weight, cap, active: bool = True
) -> None:
    """Add or change a member: weight 0-100 (0 pauses them), capacity 1-10,000 open leads."""
    current = await pool(actor, pool_id)
    errors = {}
    try:
        weight = int(weight)
        if not 0 <= weight <= 100:
            raise ValueError
    except (TypeError, ValueError):
        errors["weight"] = "0 to 100."
    try:
        cap = int(cap)
        if not 1 <= cap <= 10_000:
            raise ValueError
    except (TypeError, ValueError):
        errors["cap"] = "1 to 10,000 open leads."
    if agent_id is None:
        errors["agent"] = "Choose an agent."
    elif not await fetch(
        """SELECT 1 FROM role_assignment ra JOIN role r ON r.id = ra.role WHERE ra."user" = $1
        AND ra.entity = $2
               AND ra.status = 'active' AND 'leads:lead:work' = ANY(r.permissions)""",
        agent_id,
        current["entity_id"],
    ):
        errors["agent"] = "This person cannot work leads in this entity."
    if errors:
        raise ValidationFailed("Please correct the member", field_errors=errors)
    async with transaction():
        conn = current_connection()
        before = await conn.fetchrow(
            "SELECT weight, max_open_leads, active FROM lead_pool_member WHERE pool = $1 AND agent_id = $2",
            pool_id,
            agent_id,
        )
        await conn.execute(
            "INSERT INTO lead_pool_member (pool, agent_id, weight, max_open_leads, assigned_count, active) "
            "VALUES ($1, $2, $3, $4, coalesce((SELECT min(assigned_count) FROM lead_pool_member WHERE pool = "
            "$1), 0), $5) "
            "ON CONFLICT (pool, agent_id) DO UPDATE SET weight = excluded.weight, max_open_leads = "
            "excluded.max_open_leads, "
            "active = excluded.active",
            pool_id,
            agent_id,
            weight,
            cap,
            active,
        )
        await record_audit(
            actor,
            LeadsTag.POOL_MEMBER,
            target_type="lead_pool",
            target_id=pool_id,
            target_label=current["name"],
            entity_id=current["entity_id"],
            before=dict(before) if before else None,
            after={"agent_id": agent_id, "weight": weight, "max_open_leads": cap, "active": active},
        )
