"""Staff user administration (create, deactivate, reset password or MFA) and scoped reads of users."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets

from crm.access.tables import AssignmentStatus, LegalEntity, Role, RoleAssignment, StaffUser, Team
from crm.core.audit.service import record_audit
from crm.core.audit.tables import AuditRecord
from crm.core.context import Actor
from crm.core.db import fetch, transaction
from crm.core.errors import NotFound, SegregationOfDuties, ValidationFailed
from crm.core.permissions import Permission
from crm.identity.credentials import hash_password
from crm.identity.sessions import end_user_sessions
from crm.identity.tables import RecoveryCode

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_VISIBLE_IDS = """
SELECT u.id FROM staff_user u
WHERE u.home_entity = ANY($1::int[])
   OR EXISTS (SELECT 1 FROM role_assignment ra WHERE ra."user" = u.id AND ra.entity = ANY($1::int[]))
"""


def temporary_password() -> str:
    return secrets.token_urlsafe(12)


async def visible_user_ids(actor: Actor, permission: Permission = Permission.ACCESS_USER_VIEW) -> list[int]:
    """Users whose home entity, or one of whose assignments, lies in an entity where the actor holds `permission`."""
    entities = actor.entities_with(permission)
    if not entities:
        return []
    return [r["id"] for r in await fetch(_VISIBLE_IDS, entities)]


async def list_users(actor: Actor, search: str = "") -> list[dict]:
    ids = await visible_user_ids(actor)
    query = StaffUser.select(
        StaffUser.id, StaffUser.email, StaffUser.full_name, StaffUser.active, StaffUser.mfa_enrolled_at,
        StaffUser.locked_until, StaffUser.last_signin_at, StaffUser.home_entity.code.as_alias("entity_code"),
    ).where(StaffUser.id.is_in(ids or [-1])).order_by(StaffUser.full_name)
    if search:
        query = query.where(StaffUser.full_name.ilike(f"%{search}%") | StaffUser.email.ilike(f"%{search}%"))
    return await query.limit(500)


async def get_user(actor: Actor, user_id: int, permission: Permission = Permission.ACCESS_USER_VIEW) -> dict:
    """One user inside the actor's scope, else NotFound (never a hint that it exists elsewhere)."""
    if user_id not in await visible_user_ids(actor, permission):
        raise NotFound("Staff user")
    return await StaffUser.select().where(StaffUser.id == user_id).first()


async def assignments_of(user_id: int) -> list[dict]:
    return await RoleAssignment.select(
        RoleAssignment.all_columns(), RoleAssignment.role.name.as_alias("role_name"),
        RoleAssignment.role.privileged.as_alias("role_privileged"), RoleAssignment.entity.code.as_alias("entity_code"),
        RoleAssignment.team.name.as_alias("team_name"),
    ).where(RoleAssignment.user == user_id).order_by(RoleAssignment.id, ascending=False)


async def permission_history(user_id: int) -> list[dict]:
    """Every grant, approval, revoke, expiry and credential reset about this user, newest first."""
    rows = await AuditRecord.select().where(
        (AuditRecord.target_type == "staff_user") & (AuditRecord.target_id == str(user_id))
    ).order_by(AuditRecord.seq, ascending=False).limit(500)
    for row in rows:
        for name in ("before", "after"):
            row[name] = json.loads(row[name]) if row[name] else None
    return rows


async def create_user(actor: Actor, form: dict) -> tuple[int, str]:
    """Create a staff user with a one-time password; they set their own and enrol MFA at first sign-in."""
    errors = {}
    email = form.get("email", "").strip().lower()
    if not EMAIL.match(email) or len(email) > 254:
        errors["email"] = "Enter a valid email address."
    full_name = form.get("full_name", "").strip()
    if not 2 <= len(full_name) <= 200:
        errors["full_name"] = "Enter the person's full name."
    try:
        home_entity = int(form.get("home_entity", ""))
    except ValueError:
        home_entity = None
    if home_entity is None or not actor.can(Permission.ACCESS_USER_MANAGE, home_entity):
        errors["home_entity"] = "Choose an entity where you manage users."
    reason = form.get("reason", "").strip()
    if not reason:
        errors["reason"] = "Say why this account is needed."
    if errors:
        raise ValidationFailed("Please correct the highlighted fields", field_errors=errors)
    password = temporary_password()
    async with transaction():
        if await StaffUser.exists().where(StaffUser.email == email):
            raise ValidationFailed("Email already used", field_errors={"email": "A user with this email exists."})
        rows = await StaffUser.insert(StaffUser(
            email=email, full_name=full_name, home_entity=home_entity, password_hash=hash_password(password),
            must_change_password=True,
        )).returning(StaffUser.id)
        user_id = rows[0]["id"]
        await record_audit(
            actor, "access:user:create", target_type="staff_user", target_id=user_id, target_label=email,
            entity_id=home_entity, after={"email": email, "full_name": full_name, "home_entity": home_entity},
            reason=reason,
        )
    return user_id, password


async def _managed_user(actor: Actor, user_id: int, reason: str) -> dict:
    if not reason.strip():
        raise ValidationFailed("A reason is required", field_errors={"reason": "Say why."})
    if user_id == actor.user_id:
        raise SegregationOfDuties("Ask another administrator to do this to your own account")
    return await get_user(actor, user_id, Permission.ACCESS_USER_MANAGE)


async def deactivate_user(actor: Actor, user_id: int, reason: str) -> None:
    """Block sign-in, end every session and revoke all assignments."""
    user = await _managed_user(actor, user_id, reason)
    async with transaction():
        await StaffUser.update({StaffUser.active: False, StaffUser.deactivated_at: dt.datetime.now(dt.UTC)}).where(
            StaffUser.id == user_id
        )
        sessions = await end_user_sessions(user_id, "user_deactivated")
        revoked = await RoleAssignment.update(
            {RoleAssignment.status: AssignmentStatus.REVOKED, RoleAssignment.ended_at: dt.datetime.now(dt.UTC)}
        ).where((RoleAssignment.user == user_id) & RoleAssignment.status.is_in(["active", "pending"])).returning(RoleAssignment.id)
        await record_audit(
            actor, "access:user:deactivate", target_type="staff_user", target_id=user_id, target_label=user["email"],
            entity_id=user["home_entity"], before={"active": True},
            after={"active": False, "sessions_ended": sessions, "assignments_revoked": [r["id"] for r in revoked]},
            reason=reason,
        )


async def reset_password(actor: Actor, user_id: int, reason: str) -> str:
    """Set a one-time password the user must change at next sign-in; returns it to show once."""
    user = await _managed_user(actor, user_id, reason)
    password = temporary_password()
    async with transaction():
        await StaffUser.update({
            StaffUser.password_hash: hash_password(password), StaffUser.must_change_password: True,
            StaffUser.failed_attempts: 0, StaffUser.locked_until: None,
        }).where(StaffUser.id == user_id)
        sessions = await end_user_sessions(user_id, "password_reset")
        await record_audit(
            actor, "identity:password:reset", target_type="staff_user", target_id=user_id,
            target_label=user["email"], entity_id=user["home_entity"], after={"sessions_ended": sessions}, reason=reason,
        )
    return password


async def reset_mfa(actor: Actor, user_id: int, reason: str) -> None:
    """Remove the user's authenticator and recovery codes; they enrol again at next sign-in."""
    user = await _managed_user(actor, user_id, reason)
    async with transaction():
        await StaffUser.update({StaffUser.totp_secret: None, StaffUser.mfa_enrolled_at: None}).where(StaffUser.id == user_id)
        await RecoveryCode.delete().where(RecoveryCode.user == user_id)
        sessions = await end_user_sessions(user_id, "mfa_reset")
        await record_audit(
            actor, "identity:mfa:reset", target_type="staff_user", target_id=user_id, target_label=user["email"],
            entity_id=user["home_entity"], before={"mfa_enrolled": user["mfa_enrolled_at"] is not None},
            after={"mfa_enrolled": False, "sessions_ended": sessions}, reason=reason,
        )


async def grant_form_choices(actor: Actor) -> dict:
    """Roles, and the entities and teams where the actor may grant them."""
    entities = actor.entities_with(Permission.ACCESS_ASSIGNMENT_MANAGE)
    return {
        "roles": await Role.select(Role.id, Role.name, Role.privileged).order_by(Role.name),
        "grant_entities": await LegalEntity.select(LegalEntity.id, LegalEntity.code, LegalEntity.name).where(
            LegalEntity.id.is_in(entities or [-1])).order_by(LegalEntity.code),
        "grant_teams": await Team.select(Team.id, Team.name, Team.entity).where(Team.entity.is_in(entities or [-1])).order_by(Team.name),
    }
