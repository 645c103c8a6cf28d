"""Group-level scope: some records and settings belong to no single entity (group-wide approvals, audit rows,
notification templates); only staff who hold the permission in every active entity may see or change them."""

from crm.core.context import Actor
from crm.core.db import fetch
from crm.core.permissions import Permission


async def group_level(actor: Actor, permission: Permission) -> bool:
    if actor.is_system:
        return True
    active = [r["id"] for r in await fetch("SELECT id FROM legal_entity WHERE active")]
    return bool(active) and all(actor.can(permission, e) for e in active)
