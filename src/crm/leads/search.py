"""Leads for the global search: by reference, exact e-mail or phone (never shown), or name prefix, scoped like
every lead list (an agent finds their own leads, a team lead every lead of their entities)."""

from __future__ import annotations

from crm.core.context import Actor
from crm.core.db import fetch
from crm.core.permissions import Permission
from crm.core.search import Query, name_clause

_EXACT = {"reference": "l.reference = $4", "email": "l.email_key = $4", "phone": "l.phone = $4"}


async def search_leads(actor: Actor, query: Query, limit: int = 10) -> list[dict]:
    entities = actor.entities_with(Permission.LEADS_LEAD_VIEW)
    if query.kind not in (*_EXACT, "name") or not entities:
        return []
    args = [entities, actor.user_id, actor.entities_with(Permission.LEADS_TEAM_VIEW) or [-1]]
    if query.kind == "name":
        match, extra = name_clause("l.first_name", "l.last_name", query.value, len(args) + 1)
    else:
        match, extra = _EXACT[query.kind], [query.value]
    rows = await fetch(
        f"""SELECT l.reference, l.first_name, l.last_name, l.status, l.country, e.code AS entity_code
            FROM lead l JOIN legal_entity e ON e.id = l.entity_id
            WHERE l.entity_id = ANY($1::int[]) AND l.merged_into_id IS NULL AND {match}
              AND (l.owner_id = $2 OR l.entity_id = ANY($3::int[]))
            ORDER BY l.id DESC LIMIT {int(limit)}""",  # noqa: S608 (fixed fragments)
        *args,
        *extra,
    )
    return [dict(r) for r in rows]
