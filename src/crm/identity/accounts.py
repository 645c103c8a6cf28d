"""Staff accounts: creating users with a one-time password, deactivating them, resetting passwords and MFA.

Every change needs a reason, is audited, and ends the user's sessions where it takes something away; nobody
does these to their own account."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from zoneinfo import available_timezones

from crm.core.audit.service import record_audit
from crm.core.audit.tags import AccessTag
from crm.core.context import Actor
from crm.core.db import transaction
from crm.core.errors import SegregationOfDuties, ValidationFailed
from crm.core.org import staff
from crm.core.org.assignments import end_all_assignments
from crm.core.org.tables import StaffUser
from crm.core.permissions import Permission
from crm.identity.credentials import hash_password
from crm.identity.sessions import end_user_sessions
from crm.identity.tables import RecoveryCode
from crm.identity.tags import IdentityTag

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def temporary_password() -> str:
    return secrets.token_urlsafe(12)


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
            raise ValidationFailed(
                "Email already used", field_errors={"email": "A user with this email exists."}
            )
        rows = await StaffUser.insert(
            StaffUser(
                email=email,
                full_name=full_name,
                home_entity=home_entity,
                password_hash=hash_password(password),
                must_change_password=True,
            )
        ).returning(StaffUser.id)
        user_id = rows[0]["id"]
        await record_audit(
            actor,
            AccessTag.USER_CREATE,
            target_type="staff_user",
            target_id=user_id,
            target_label=email,
            entity_id=home_entity,
            after={"email": email, "full_name": full_name, "home_entity": home_entity},
            reason=reason,
        )
    return user_id, password


async def _managed_user(actor: Actor, user_id: int, reason: str) -> dict:
    if not reason.strip():
        raise ValidationFailed("A reason is required", field_errors={"reason": "Say why."})
    if user_id == actor.user_id:
        raise SegregationOfDuties("Ask another administrator to do this to your own account")
    return await staff.get_user(actor, user_id, Permission.ACCESS_USER_MANAGE)


async def deactivate_user(actor: Actor, user_id: int, reason: str) -> None:
    """Block sign-in, end every session and revoke all assignments."""
    user = await _managed_user(actor, user_id, reason)
    async with transaction():
        await StaffUser.update(
            {StaffUser.active: False, StaffUser.deactivated_at: dt.datetime.now(dt.UTC)}
        ).where(StaffUser.id == user_id)
        sessions = await end_user_sessions(user_id, "user_deactivated")
        revoked = await end_all_assignments(user_id)
        await record_audit(
            actor,
            AccessTag.USER_DEACTIVATE,
            target_type="staff_user",
            target_id=user_id,
            target_label=user["email"],
            entity_id=user["home_entity"],
            before={"active": True},
            after={"active": False, "sessions_ended": sessions, "assignments_revoked": revoked},
            reason=reason,
        )


async def reset_password(actor: Actor, user_id: int, reason: str) -> str:
    """Set a one-time password the user must change at next sign-in; returns it to show once."""
    user = await _managed_user(actor, user_id, reason)
    password = temporary_password()
    async with transaction():
        await StaffUser.update(
            {
                StaffUser.password_hash: hash_password(password),
                StaffUser.must_change_password: True,
                StaffUser.failed_attempts: 0,
                StaffUser.locked_until: None,
            }
        ).where(StaffUser.id == user_id)
        sessions = await end_user_sessions(user_id, "password_reset")
        await record_audit(
            actor,
            IdentityTag.PASSWORD_RESET,
            target_type="staff_user",
            target_id=user_id,
            target_label=user["email"],
            entity_id=user["home_entity"],
            after={"sessions_ended": sessions},
            reason=reason,
        )
    return password


async def reset_mfa(actor: Actor, user_id: int, reason: str) -> None:
    """Remove the user's authenticator and recovery codes; they enrol again at next sign-in."""
    user = await _managed_user(actor, user_id, reason)
    async with transaction():
        await StaffUser.update({StaffUser.totp_secret: None, StaffUser.mfa_enrolled_at: None}).where(
            StaffUser.id == user_id
        )
        await RecoveryCode.delete().where(RecoveryCode.user == user_id)
        sessions = await end_user_sessions(user_id, "mfa_reset")
        await record_audit(
            actor,
            IdentityTag.MFA_RESET,
            target_type="staff_user",
            target_id=user_id,
            target_label=user["email"],
            entity_id=user["home_entity"],
            before={"mfa_enrolled": user["mfa_enrolled_at"] is not None},
            after={"mfa_enrolled": False, "sessions_ended": sessions},
            reason=reason,
        )


TIME_ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


async def set_own_time_zone(actor: Actor, zone: str | None) -> None:
    """The time zone one's screens show times in ("" for the home entity's); audited."""
    if zone is None:
        raise ValidationFailed("Choose a time zone", field_errors={"time_zone": "Choose a time zone"})
    zone = zone.strip()
    if zone and zone not in TIME_ZONES and zone != "UTC":
        raise ValidationFailed(
            "Choose a time zone from the list", field_errors={"time_zone": "Choose a time zone from the list"}
        )
    async with transaction():
        before = await StaffUser.select(StaffUser.time_zone).where(StaffUser.id == actor.user_id).first()
        await StaffUser.update({StaffUser.time_zone: zone or None}).where(StaffUser.id == actor.user_id)
        await record_audit(
            actor,
            IdentityTag.PREFERENCES_CHANGE,
            target_type="staff_user",
            target_id=actor.user_id,
            target_label=actor.label,
            before={"time_zone": before["time_zone"] if before else None},
            after={"time_zone": zone or None},
        )


async def own_time_zone(user_id: int) -> str:
    row = await StaffUser.select(StaffUser.time_zone).where(StaffUser.id == user_id).first()
    return (row or {}).get("time_zone") or ""
