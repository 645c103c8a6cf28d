"""Saved views: a person names a list's current filter and order and gets it back in one click. Personal
shortcuts (each sees only their own, and a view never widens what the list shows: the list applies its scope
as always), so no audit row; at most MAX_PER_LIST per list."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import NotFound, ValidationFailed

LISTS = {"leads.all": "/leads/all", "leads.unassigned": "/leads/unassigned", "cases.all": "/cases/all"}
MAX_PER_LIST = 20
QUERY_MAX = 1000


async def views_of(actor: Actor, list_key: str) -> list[dict]:
    rows = await fetch(
        'SELECT id, name, query FROM saved_view WHERE "user" = $1 AND list_key = $2 ORDER BY lower(name)',
        actor.user_id,
        list_key,
    )
    return [
        dict(r) | {"url": f"{LISTS[list_key]}?{r['query']}" if r["query"] else LISTS[list_key]} for r in rows
    ]


def _clean_query(query: str) -> str:
    pairs = [(k, v) for k, v in parse_qsl(query or "", keep_blank_values=False) if k not in ("after", "view")]
    return urlencode(pairs)[:QUERY_MAX]


async def save_view(actor: Actor, list_key: str, name: str, query: str) -> int:
    """Save (or overwrite, by name) a view of the list; returns its id."""
    if list_key not in LISTS:
        raise NotFound("List")
    name = " ".join(str(name or "").split())
    if not 1 <= len(name) <= 60:
        raise ValidationFailed(
            "Name the view", field_errors={"view_name": "Give the view a name (up to 60)."}
        )
    async with transaction():
        conn = current_connection()
        await conn.execute("SELECT id FROM staff_user WHERE id = $1 FOR UPDATE", actor.user_id)
        existing = await conn.fetchval(
            'SELECT id FROM saved_view WHERE "user" = $1 AND list_key = $2 AND lower(name) = lower($3)',
            actor.user_id,
            list_key,
            name,
        )
        if existing:
            await conn.execute(
                "UPDATE saved_view SET query = $2, name = $3 WHERE id = $1",
                existing,
                _clean_query(query),
                name,
            )
            return existing
        count = await conn.fetchval(
            'SELECT count(*) FROM saved_view WHERE "user" = $1 AND list_key = $2', actor.user_id, list_key
        )
        if count >= MAX_PER_LIST:
            raise ValidationFailed(
                "Too many views",
                field_errors={"view_name": f"You have {MAX_PER_LIST} views of this list; delete one first."},
            )
        return await conn.fetchval(
            'INSERT INTO saved_view ("user", list_key, name, query, created_at) '
            "VALUES ($1, $2, $3, $4, now()) RETURNING id",
            actor.user_id,
            list_key,
            name,
            _clean_query(query),
        )


async def delete_view(actor: Actor, view_id: int) -> str:
    """Delete one of one's own views; returns the list it belonged to (someone else's view: not found)."""
    async with transaction():
        key = await current_connection().fetchval(
            'DELETE FROM saved_view WHERE id = $1 AND "user" = $2 RETURNING list_key', view_id, actor.user_id
        )
    if key is None:
        raise NotFound("Saved view")
    return key
