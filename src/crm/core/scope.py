"""Scope, in one place: which records of which entities an actor may see or act on.

A record of an entity is in scope when the actor holds the permission there and the entity switcher's focus
does not exclude it (`in_scope`; lists filter on `Actor.entities_with`, which applies the same rule). Some
records and settings belong to no single entity (group-wide approvals, audit rows, notification templates,
inbox events of no entity): only staff who hold the permission in every active entity may see or change them
(`group_level`). An out-of-scope record is reported as not found, never as forbidden: its existence is not
disclosed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm.core.context import Actor
from crm.core.db import fetch
from crm.core.errors import NotFound
from crm.core.permissions import Permission


async def group_level(actor: Actor, permission: Permission) -> bool:
    if actor.is_system:
        return True
    active = [r["id"] for r in await fetch("SELECT id FROM legal_entity WHERE active")]
    return bool(active) and all(actor.can(permission, e) for e in active)


def sees(actor: Actor, permission: Permission, entity_id: int | None) -> bool:
    """The actor may see records of this entity with `permission` (respecting the entity switcher)."""
    return actor.is_system or (entity_id is not None and entity_id in actor.entities_with(permission))


def in_scope(
    actor: Actor,
    permission: Permission,
    row: Mapping[str, Any] | None,
    what: str,
    *,
    entity: str = "entity_id",
) -> dict:
    """`row` as a dict when the actor may see it with `permission`, else NotFound(what): the scoped getters'
    one check (fetch the row, then `return in_scope(actor, Permission.X, row, "Pool")`)."""
    if row is None or not sees(actor, permission, row[entity]):
        raise NotFound(what)
    return dict(row)


async def in_group_scope(
    actor: Actor,
    permission: Permission,
    row: Mapping[str, Any] | None,
    what: str,
    *,
    entity: str = "entity_id",
) -> dict:
    """`in_scope` for records that may belong to no entity (then only group-level staff see them)."""
    if row is not None and row[entity] is None and await group_level(actor, permission):
        return dict(row)
    return in_scope(
        actor, permission, row if row is None or row[entity] is not None else None, what, entity=entity
    )
