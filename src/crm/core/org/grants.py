"""Effective permissions: what a user may do in which entity, right now, from their active assignments."""

from __future__ import annotations

from crm.core.db import fetch

_ACTIVE_GRANTS = """
SELECT ra.entity AS entity_id, r.permissions
FROM role_assignment ra JOIN role r ON r.id = ra.role
WHERE ra."user" = $1 AND ra.status = 'active'
  AND ra.valid_from <= now() AND (ra.valid_until IS NULL OR ra.valid_until > now())
"""


async def grants_for(user_id: int) -> dict[int, frozenset[str]]:
    """Entity id -> permissions. Expired windows stop counting at once, before the expiry job runs."""
    merged: dict[int, set[str]] = {}
    for row in await fetch(_ACTIVE_GRANTS, user_id):
        merged.setdefault(row["entity_id"], set()).update(row["permissions"] or [])
    return {entity: frozenset(perms) for entity, perms in merged.items()}
