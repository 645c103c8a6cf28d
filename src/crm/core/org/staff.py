"""Scoped reads of staff users: who the actor may see, one user, their assignments and permission history.

Accounts (creation, deactivation, password and MFA resets) are written by `crm.identity.accounts`."""

from __future__ import annotations

import json

from crm.core.audit.tables import AuditRecord
from crm.core.context import Actor
from crm.core.db import fetch
from crm.core.errors import NotFound
from crm.core.org.tables import LegalEntity, Role, RoleAssignment, StaffUser, Team
from crm.core.permissions import Permission

_VISIBLE_IDS = """
SELECT u.id FROM staff_user u
WHERE u.home_entity = ANY($1::int[])
   OR EXISTS (SELECT 1 FROM role_assignment ra WHERE ra."user" = u.id AND ra.entity = ANY($1::int[]))
"""


async def visible_user_ids(actor: Actor, permission: Permission = Permission.ACCESS_USER_VIEW) -> list[int]:
    """Users whose home entity, or one of whose assignments, lies in an entity where the actor holds
    `permission`."""
    entities = actor.entities_with(permission)
    if not entities:
        return []
    return [r["id"] for r in await fetch(_VISIBLE_IDS, entities)]


async def list_users(actor: Actor, search: str = "") -> list[dict]:
    ids = await visible_user_ids(actor)
    query = (
        StaffUser.select(
            StaffUser.id,
            StaffUser.email,
            StaffUser.full_name,
            StaffUser.active,
            StaffUser.mfa_enrolled_at,
            StaffUser.locked_until,
            StaffUser.last_signin_at,
            StaffUser.home_entity.code.as_alias("entity_code"),
        )
        .where(StaffUser.id.is_in(ids or [-1]))
        .order_by(StaffUser.full_name)
    )
    if search:
        query = query.where(StaffUser.full_name.ilike(f"%{search}%") | StaffUser.email.ilike(f"%{search}%"))
    return await query.limit(500)


async def get_user(actor: Actor, user_id: int, permission: Permission = Permission.ACCESS_USER_VIEW) -> dict:
    """One user inside the actor's scope, else NotFound (never a hint that it exists elsewhere)."""
    if user_id not in await visible_user_ids(actor, permission):
        raise NotFound("Staff user")
    return await StaffUser.select().where(StaffUser.id == user_id).first()


async def assignments_of(user_id: int) -> list[dict]:
    return (
        await RoleAssignment.select(
            RoleAssignment.all_columns(),
            RoleAssignment.role.name.as_alias("role_name"),
            RoleAssignment.role.privileged.as_alias("role_privileged"),
            RoleAssignment.entity.code.as_alias("entity_code"),
            RoleAssignment.team.name.as_alias("team_name"),
        )
        .where(RoleAssignment.user == user_id)
        .order_by(RoleAssignment.id, ascending=False)
    )


async def permission_history(user_id: int) -> list[dict]:
    """Every grant, approval, revoke, expiry and credential reset about this user, newest first."""
    rows = (
        await AuditRecord.select()
        .where((AuditRecord.target_type == "staff_user") & (AuditRecord.target_id == str(user_id)))
        .order_by(AuditRecord.seq, ascending=False)
        .limit(500)
    )
    for row in rows:
        for name in ("before", "after"):
            row[name] = json.loads(row[name]) if row[name] else None
    return rows


async def grant_form_choices(actor: Actor) -> dict:
    """Roles, and the entities and teams where the actor may grant them."""
    entities = actor.entities_with(Permission.ACCESS_ASSIGNMENT_MANAGE)
    return {
        "roles": await Role.select(Role.id, Role.name, Role.privileged).order_by(Role.name),
        "grant_entities": await LegalEntity.select(LegalEntity.id, LegalEntity.code, LegalEntity.name)
        .where(LegalEntity.id.is_in(entities or [-1]))
        .order_by(LegalEntity.code),
        "grant_teams": await Team.select(Team.id, Team.name, Team.entity)
        .where(Team.entity.is_in(entities or [-1]))
        .order_by(Team.name),
    }


async def active_staff_id(email: str) -> int | None:
    """The active staff user with this e-mail address (as a telephony provider names its agents), if any."""
    if not email:
        return None
    rows = await fetch("SELECT id FROM staff_user WHERE lower(email) = lower($1) AND active", email[:254])
    return rows[0]["id"] if rows else None


async def active_staff_in(actor: Actor, permission: Permission) -> list[dict]:
    """Active staff of the entities where the actor holds `permission` (choices such as a team's lead)."""
    ids = await visible_user_ids(actor, permission)
    return (
        await StaffUser.select(StaffUser.id, StaffUser.full_name)
        .where(StaffUser.id.is_in(ids or [-1]) & StaffUser.active.eq(True))
        .order_by(StaffUser.full_name)
    )


async def staff_addresses() -> set[str]:
    """Every staff e-mail address, lower case (not personal data of clients: shown unmasked)."""
    return {r["email"].lower() for r in await fetch("SELECT email FROM staff_user")}
