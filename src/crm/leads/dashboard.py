"""The team lead's figures: speed to lead, open load, SLA breaches and conversion, over the actor's
entities."""

from __future__ import annotations

from crm.core.context import Actor
from crm.core.db import fetch
from crm.core.permissions import Permission
from crm.leads.tables import OPEN_LEAD_STATUSES

_SPEED = """
SELECT {key} AS key, {label} AS label, count(*) AS leads, count(l.first_contact_at) AS contacted,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM l.first_contact_at - l.created_at))
         FILTER (WHERE l.first_contact_at IS NOT NULL) AS p50_s,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM l.first_contact_at - l.created_at))
         FILTER (WHERE l.first_contact_at IS NOT NULL) AS p90_s
FROM lead l {join}
WHERE l.entity_id = ANY($1::int[]) AND l.created_at > now() - make_interval(days => $2)
    AND l.merged_into_id IS NULL
GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 50
"""

_LOAD = """
SELECT u.id, u.full_name, coalesce(p.status, 'offline') AS presence,
       count(l.id) FILTER (WHERE l.status = ANY($2::text[])) AS open_leads,
       count(l.id) FILTER (WHERE l.status = ANY($2::text[]) AND l.first_contact_at IS NULL) AS untouched,
       (SELECT max(m.max_open_leads) FROM lead_pool_member m JOIN lead_pool lp ON lp.id = m.pool
         WHERE m.agent_id = u.id AND lp.entity_id = ANY($1::int[])) AS capacity
FROM staff_user u
JOIN lead l ON l.owner_id = u.id AND l.entity_id = ANY($1::int[]) AND l.merged_into_id IS NULL
LEFT JOIN agent_presence p ON p.agent_id = u.id
GROUP BY u.id, u.full_name, p.status ORDER BY open_leads DESC LIMIT 100
"""

_BREACHES = """
SELECT u.id, u.full_name, count(*) AS breaches, max(b.created_at) AS last_at,
       count(*) FILTER (WHERE b.created_at > now() - interval '1 day') AS today
FROM lead_sla_breach b JOIN lead l ON l.id = b.lead JOIN staff_user u ON u.id = b.agent_id
WHERE l.entity_id = ANY($1::int[]) AND b.created_at > now() - make_interval(days => $2)
GROUP BY u.id, u.full_name ORDER BY breaches DESC LIMIT 50
"""

_CONVERSION = """
SELECT coalesce(nullif(l.source, ''), '(direct)') AS source, count(*) AS leads,
       count(l.first_contact_at) AS contacted,
       count(*) FILTER (WHERE l.status IN ('registered', 'kyc', 'funded')) AS registered,
       count(*) FILTER (WHERE l.status = 'funded') AS funded,
       count(*) FILTER (WHERE l.status = 'lost') AS lost
FROM lead l
WHERE l.entity_id = ANY($1::int[]) AND l.created_at > now() - make_interval(days => $2)
    AND l.merged_into_id IS NULL
GROUP BY 1 ORDER BY 2 DESC LIMIT 50
"""


async def figures(actor: Actor, days: int = 30) -> dict:
    entities = actor.entities_with(Permission.LEADS_TEAM_VIEW) or [-1]
    days = max(1, min(days, 365))
    by_agent = await fetch(
        _SPEED.format(
            key="l.owner_id",
            label="coalesce(u.full_name, '(unassigned)')",
            join="LEFT JOIN staff_user u ON u.id = l.owner_id",
        ),
        entities,
        days,
    )
    by_pool = await fetch(
        _SPEED.format(
            key="l.pool_id",
            label="coalesce(p.name, '(no pool)')",
            join="LEFT JOIN lead_pool p ON p.id = l.pool_id",
        ),
        entities,
        days,
    )
    conversion = [
        dict(r) | {"rate": (r["funded"] / r["leads"]) if r["leads"] else 0}
        for r in await fetch(_CONVERSION, entities, days)
    ]
    return {
        "days": days,
        "speed_by_agent": [dict(r) for r in by_agent],
        "speed_by_pool": [dict(r) for r in by_pool],
        "load": [dict(r) for r in await fetch(_LOAD, entities, list(OPEN_LEAD_STATUSES))],
        "breaches": [dict(r) for r in await fetch(_BREACHES, entities, days)],
        "conversion": conversion,
    }
