"""Leads for the global search: by reference, exact e-mail or phone (never shown), or name prefix, scoped like
every lead list (an agent finds their own leads, a team lead every lead of their entities)."""

from __future__ import annotations

from crm.core.context import Actor
from crm.core.db import fetch, transaction
from crm.core.permissions import Permission
from crm.core.search import Query, branch_union, name_branches

_EXACT = {"reference": "l.reference = $4", "email": "l.email_key = $4", "phone": "l.phone = $4"}
_SELECT = "SELECT l.id, l.reference, l.first_name, l.last_name, l.status, l.country, l.entity_id FROM lead l"
# The entity scope is a filter on the rows the search key finds, never an index of its own: ANDing the
# entity index (every lead of the entity) into a selective lookup made the planner read it whole.
_SCOPE = (
    "array_position($1::int[], l.entity_id) IS NOT NULL AND l.merged_into_id IS NULL "
    "AND (l.owner_id = $2 OR array_position($3::int[], l.entity_id) IS NOT NULL)"
)


async def search_leads(actor: Actor, query: Query, limit: int = 10) -> list[dict]:
    entities = actor.entities_with(Permission.LEADS_LEAD_VIEW)
    if query.kind not in (*_EXACT, "name") or not entities:
        return []
    args = [entities, actor.user_id, actor.entities_with(Permission.LEADS_TEAM_VIEW) or [-1]]
    if query.kind == "name":
        branches, extra = name_branches("l.first_name", "l.last_name", query.value, len(args) + 1)
        found = branch_union(_SELECT, _SCOPE, branches, limit)
        order = "lower(f.last_name), lower(f.first_name), f.id"
    else:
        found, extra = f"{_SELECT} WHERE {_SCOPE} AND {_EXACT[query.kind]}", [query.value]
        order = "f.id DESC"
    async with transaction():
        if query.kind == "name":  # walk each name index in order and stop at the page (see core/search.py)
            await fetch("SET LOCAL enable_bitmapscan = off")
        rows = await fetch(
            f"""SELECT f.reference, f.first_name, f.last_name, f.status, f.country, e.code AS entity_code
            FROM ({found}) f JOIN legal_entity e ON e.id = f.entity_id
            ORDER BY {order} LIMIT {int(limit)}""",  # noqa: S608 (fixed fragments)
            *args,
            *extra,
        )
    return [dict(r) for r in rows]
