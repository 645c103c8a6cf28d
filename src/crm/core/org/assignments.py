"""Granting, approving, revoking and expiring role assignments (user x role x entity x team x window)."""

from __future__ import annotations

import datetime as dt

from crm.core.approvals.service import ActionKind, register_action, request_approval
from crm.core.audit.service import record_audit
from crm.core.audit.tags import AccessTag
from crm.core.context import Actor
from crm.core.db import fetch, transaction
from crm.core.errors import NotFound, ValidationFailed
from crm.core.org.tables import AssignmentStatus, LegalEntity, Role, RoleAssignment, StaffUser, Team
from crm.core.permissions import CLIENT_DATA, Permission
from crm.core.scope import in_scope

MAX_ELEVATION = dt.timedelta(days=30)


def _parse_until(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed("Invalid date", field_errors={"valid_until": "Use a date and time."}) from None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _snapshot(row: dict) -> dict:
    return {k: row.get(k) for k in ("user", "role", "entity", "team", "valid_from", "valid_until", "status")}


async def grant_role(
    actor: Actor,
    *,
    user_id: int,
    role_id: int,
    entity_id: int | None,
    team_id: int | None,
    valid_until: str | None,
    reason: str,
    case_id: str | None = None,
) -> tuple[int, str]:
    """Grant a role in an entity. The grant stays pending until a second admin approves when the role is
    privileged, when the actor grants it to themselves, or when it gives client data to someone who has
    none (see `approval_grounds`); the grantee can never be that second admin.

    A privileged role must have an end date (no permanent "temporary super admin") of at most 30 days.
    Returns (assignment id, status).
    """
    if entity_id is None or not actor.can(Permission.ACCESS_ASSIGNMENT_MANAGE, entity_id):
        raise ValidationFailed(
            "Choose an entity you manage", field_errors={"entity": "Choose an entity you manage."}
        )
    if not reason.strip():
        raise ValidationFailed(
            "A reason is required", field_errors={"reason": "Say why this access is needed."}
        )
    until = _parse_until(valid_until)
    now = dt.datetime.now(dt.UTC)
    if until is not None and until <= now:
        raise ValidationFailed(
            "End date is in the past", field_errors={"valid_until": "Choose a future end."}
        )
    async with transaction():
        user = await StaffUser.select().where(StaffUser.id == user_id).first()
        role = await Role.select().where(Role.id == role_id).first()
        entity = await LegalEntity.select().where(LegalEntity.id == entity_id).first()
        if user is None or role is None or entity is None:
            raise NotFound("User, role or entity")
        if not user["active"]:
            raise ValidationFailed("This user is deactivated")
        if team_id is not None and not await Team.exists().where(
            (Team.id == team_id) & (Team.entity == entity_id)
        ):
            raise ValidationFailed("Unknown team", field_errors={"team": "Choose a team of this entity."})
        if role["privileged"] and (until is None or until - now > MAX_ELEVATION):
            raise ValidationFailed(
                "Privileged roles need an end date",
                field_errors={"valid_until": "Set an end within 30 days."},
            )
        grounds = await approval_grounds(actor, user_id, role)
        status = AssignmentStatus.PENDING if grounds else AssignmentStatus.ACTIVE
        rows = await RoleAssignment.insert(
            RoleAssignment(
                user=user_id,
                role=role_id,
                entity=entity_id,
                team=team_id,
                valid_until=until,
                status=status,
                requested_by=actor.user_id,
                reason=reason.strip(),
            )
        ).returning(RoleAssignment.id)
        assignment_id = rows[0]["id"]
        label = f"{role['name']} for {user['full_name']} in {entity['code']}"
        snapshot = {
            "user": user_id,
            "role": role["slug"],
            "entity": entity_id,
            "team": team_id,
            "valid_until": until,
        }
        if grounds:
            request_id = await request_approval(
                actor,
                "access.assignment.grant",
                entity_id=entity_id,
                target_type="role_assignment",
                target_id=assignment_id,
                target_label=label,
                payload={"assignment_id": assignment_id, **snapshot, "grounds": grounds},
                reason=reason,
                case_id=case_id,
            )
            await RoleAssignment.update({RoleAssignment.approval_request_id: request_id}).where(
                RoleAssignment.id == assignment_id
            )
        await record_audit(
            actor,
            AccessTag.ASSIGNMENT_REQUEST if grounds else AccessTag.ASSIGNMENT_GRANT,
            target_type="staff_user",
            target_id=user_id,
            target_label=label,
            entity_id=entity_id,
            after={**snapshot, "assignment_id": assignment_id, "status": status},
            reason=reason,
            case_id=case_id,
        )
    return assignment_id, status


async def approval_grounds(actor: Actor, user_id: int, role: dict) -> list[str]:
    """Why granting `role` to `user_id` needs a second admin (empty: it does not)."""
    grounds = []
    if role["privileged"]:
        grounds.append("privileged role")
    if user_id == actor.user_id:
        grounds.append("granted to oneself")
    if CLIENT_DATA.intersection(role["permissions"]) and not await holds_client_data(user_id):
        grounds.append("first access to client data")
    return grounds


async def holds_client_data(user_id: int) -> bool:
    """Whether any active or pending assignment of the user carries a client-data permission."""
    rows = await fetch(
        """SELECT 1 FROM role_assignment ra JOIN role r ON r.id = ra.role
           WHERE ra."user" = $1 AND ra.status IN ('active', 'pending') AND r.permissions && $2::varchar[]
             AND (ra.valid_until IS NULL OR ra.valid_until > now()) LIMIT 1""",
        user_id,
        sorted(CLIENT_DATA),
    )
    return bool(rows)


async def _grantee(request: dict) -> list[int]:
    return [request["payload"]["user"]]


async def _activate(actor: Actor, request: dict) -> None:
    assignment_id = request["payload"]["assignment_id"]
    rows = (
        await RoleAssignment.update({RoleAssignment.status: AssignmentStatus.ACTIVE})
        .where((RoleAssignment.id == assignment_id) & (RoleAssignment.status == AssignmentStatus.PENDING))
        .returning(*RoleAssignment.all_columns())
    )
    if rows:
        await record_audit(
            actor,
            AccessTag.ASSIGNMENT_GRANT,
            target_type="staff_user",
            target_id=rows[0]["user"],
            target_label=request["target_label"],
            entity_id=rows[0]["entity"],
            before={"status": "pending"},
            after={**request["payload"], "status": "active", "requested_by": request["maker_label"]},
            reason=request["reason"],
            case_id=request["case_id"],
        )


async def _refuse(actor: Actor, request: dict) -> None:
    await RoleAssignment.update(
        {RoleAssignment.status: AssignmentStatus.REJECTED, RoleAssignment.ended_at: dt.datetime.now(dt.UTC)}
    ).where(
        (RoleAssignment.id == request["payload"]["assignment_id"])
        & (RoleAssignment.status == AssignmentStatus.PENDING)
    )


register_action(
    ActionKind(
        name="access.assignment.grant",
        label="Role grant",
        approver_permission=Permission.ACCESS_ASSIGNMENT_APPROVE,
        execute=_activate,
        on_reject=_refuse,
        beneficiaries=_grantee,
    )
)


async def revoke_assignment(actor: Actor, assignment_id: int, reason: str) -> None:
    """End an active or pending assignment now."""
    if not reason.strip():
        raise ValidationFailed("A reason is required", field_errors={"reason": "Say why access is removed."})
    async with transaction():
        row = in_scope(
            actor,
            Permission.ACCESS_ASSIGNMENT_MANAGE,
            await RoleAssignment.select().where(RoleAssignment.id == assignment_id).first(),
            "Assignment",
            entity="entity",
        )
        if row["status"] not in (AssignmentStatus.ACTIVE, AssignmentStatus.PENDING):
            raise ValidationFailed(f"This assignment is already {row['status']}")
        await RoleAssignment.update(
            {
                RoleAssignment.status: AssignmentStatus.REVOKED,
                RoleAssignment.ended_at: dt.datetime.now(dt.UTC),
            }
        ).where(RoleAssignment.id == assignment_id)
        await record_audit(
            actor,
            AccessTag.ASSIGNMENT_REVOKE,
            target_type="staff_user",
            target_id=row["user"],
            target_label=f"assignment {assignment_id}",
            entity_id=row["entity"],
            before=_snapshot(row),
            after={"status": "revoked"},
            reason=reason,
        )


async def assignment_for(actor: Actor, assignment_id: int) -> dict:
    """An assignment in an entity where the actor manages assignments, else NotFound."""
    row = await RoleAssignment.select().where(RoleAssignment.id == assignment_id).first()
    return in_scope(actor, Permission.ACCESS_ASSIGNMENT_MANAGE, row, "Assignment", entity="entity")


async def end_all_assignments(user_id: int) -> list[int]:
    """Revoke every active or pending assignment of a user (deactivation; the caller audits it). Returns the
    ids."""
    rows = (
        await RoleAssignment.update(
            {
                RoleAssignment.status: AssignmentStatus.REVOKED,
                RoleAssignment.ended_at: dt.datetime.now(dt.UTC),
            }
        )
        .where((RoleAssignment.user == user_id) & RoleAssignment.status.is_in(["active", "pending"]))
        .returning(RoleAssignment.id)
    )
    return [r["id"] for r in rows]


async def expire_assignments() -> int:
    """Mark assignments past their end as expired, one audit row each (the job behind temporary elevation)."""
    actor = Actor.system("expire_assignments")
    expired = 0
    async with transaction():
        rows = await fetch(
            """UPDATE role_assignment SET status = 'expired', ended_at = now()
               WHERE status IN ('active', 'pending') AND valid_until IS NOT NULL AND valid_until <= now()
               RETURNING id, "user", role, entity, team, valid_from, valid_until"""
        )
        for row in rows:
            expired += 1
            await record_audit(
                actor,
                AccessTag.ASSIGNMENT_EXPIRE,
                target_type="staff_user",
                target_id=row["user"],
                target_label=f"assignment {row['id']}",
                entity_id=row["entity"],
                before={**_snapshot(dict(row)), "status": "active"},
                after={"status": "expired"},
            )
    return expired
