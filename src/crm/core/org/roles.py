"""Roles as data: the seeded catalogue, and changes to a role's permission set (always maker-checker)."""

from __future__ import annotations

import datetime as dt
import re

from crm.core.approvals.service import ActionKind, register_action, request_approval
from crm.core.audit.service import record_audit
from crm.core.audit.tags import AccessTag
from crm.core.context import Actor
from crm.core.db import fetch, transaction
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.labels import LABELS
from crm.core.org.tables import Role
from crm.core.permissions import Permission, parse_permissions

P = Permission
_VIEW_ALL = [p for p in P if p.value.endswith(":view")]

# The roles the compliance checks describe. Admins edit them (with approval); this only fills an empty table.
SYSTEM_ROLES: dict[str, dict] = {
    "compliance_officer": dict(
        name="Compliance officer",
        privileged=True,
        description="Full KYC view, approves or rejects onboarding, escalates high-risk clients.",
        permissions=[
            P.CLIENTS_CLIENT_VIEW,
            P.CLIENTS_PII_REVEAL,
            P.KYC_REVIEW_VIEW,
            P.KYC_REVIEW_DECIDE,
            P.KYC_RULES_MANAGE,
            P.CLIENTS_NOTICE_MANAGE,
            P.RISK_FLAG_REVIEW,
            P.CASES_CASE_VIEW,
            P.CASES_CASE_WORK,
            P.AUDIT_RECORD_VIEW,
            P.PAYMENTS_TRANSACTION_VIEW,
        ],
    ),
    "payments_officer": dict(
        name="Payments officer",
        privileged=True,
        description="Reviews deposits and withdrawals; cannot change KYC outcomes.",
        permissions=[
            P.CLIENTS_CLIENT_VIEW,
            P.PAYMENTS_TRANSACTION_VIEW,
            P.PAYMENTS_WITHDRAWAL_APPROVE,
            P.CASES_CASE_VIEW,
            P.CASES_CASE_WORK,
        ],
    ),
    "support_agent": dict(
        name="Support agent",
        privileged=False,
        description="Case status and masked client data only.",
        permissions=[P.CLIENTS_CLIENT_VIEW, P.CASES_CASE_VIEW],
    ),
    "dealer": dict(
        name="Dealer",
        privileged=True,
        description="Trading status and account restrictions; no banking details.",
        permissions=[
            P.CLIENTS_CLIENT_VIEW,
            P.DEALING_ACCOUNT_VIEW,
            P.DEALING_INTERVENTION_REQUEST,
            P.DEALING_INTERVENTION_EXECUTE,
            P.CASES_CASE_VIEW,
            P.CASES_CASE_WORK,
        ],
    ),
    "ib_manager": dict(
        name="IB manager",
        privileged=False,
        description="Partner relationships and rebates; no client documents.",
        permissions=[P.IB_PARTNER_VIEW, P.IB_PARTNER_MANAGE, P.CLIENTS_CLIENT_VIEW],
    ),
    "system_admin": dict(
        name="System administrator",
        privileged=True,
        description="Users, roles, entities and jobs; no access to client personal data.",
        permissions=[
            P.ACCESS_USER_VIEW,
            P.ACCESS_USER_MANAGE,
            P.ACCESS_ROLE_MANAGE,
            P.ACCESS_ENTITY_MANAGE,
            P.ACCESS_ASSIGNMENT_MANAGE,
            P.ACCESS_ASSIGNMENT_APPROVE,
            P.SYSTEM_JOBS_MANAGE,
            P.SYSTEM_AUTOMATION_VIEW,
            P.SYSTEM_TEMPLATES_MANAGE,
        ],
    ),
    "sales_agent": dict(
        name="Sales agent",
        privileged=False,
        description="Works assigned leads and clients; reveals contact data with a reason.",
        permissions=[
            P.LEADS_LEAD_VIEW,
            P.LEADS_LEAD_WORK,
            P.CLIENTS_CLIENT_VIEW,
            P.CLIENTS_PII_REVEAL,
            P.CASES_CASE_VIEW,
            P.CASES_CASE_WORK,
        ],
    ),
    "sales_team_lead": dict(
        name="Sales team lead",
        privileged=False,
        description="A sales desk's lead: routing rules, pools and shifts, plus the agent's work.",
        permissions=[
            P.LEADS_LEAD_VIEW,
            P.LEADS_LEAD_WORK,
            P.LEADS_ROUTING_MANAGE,
            P.LEADS_TEAM_VIEW,
            P.CLIENTS_CLIENT_VIEW,
            P.CLIENTS_PII_REVEAL,
            P.CASES_CASE_VIEW,
            P.CASES_CASE_WORK,
        ],
    ),
    "risk_manager": dict(
        name="Risk manager",
        privileged=True,
        description="Reviews risk flags and edits risk signals.",
        permissions=[
            P.RISK_FLAG_REVIEW,
            P.RISK_SIGNAL_MANAGE,
            P.CLIENTS_CLIENT_VIEW,
            P.CLIENTS_PII_REVEAL,
            P.AUDIT_RECORD_VIEW,
            P.CASES_CASE_VIEW,
            P.CASES_CASE_WORK,
            P.ACCESS_USER_VIEW,
        ],
    ),
    "auditor": dict(
        name="Auditor",
        privileged=False,
        description="Read-only everywhere, including the audit trail and its export.",
        permissions=[*_VIEW_ALL, P.AUDIT_RECORD_EXPORT],
    ),
    "super_admin": dict(
        name="Super administrator",
        privileged=True,
        description="Every permission. Grant sparingly and for a limited time.",
        permissions=list(P),
    ),
}

# The seeded roles' slugs read as their names wherever a stored slug is shown (an audit row's role); roles
# created later are shown by the name their row carries.
LABELS.add("role", {slug: spec["name"] for slug, spec in SYSTEM_ROLES.items()})


async def ensure_system_roles() -> int:
    """Create missing seeded roles (existing ones, possibly edited by admins, are left alone)."""
    existing = {r["slug"] for r in await Role.select(Role.slug)}
    missing = [
        Role(
            slug=slug,
            name=spec["name"],
            description=spec["description"],
            privileged=spec["privileged"],
            permissions=sorted(p.value for p in spec["permissions"]),
            system=True,
        )
        for slug, spec in SYSTEM_ROLES.items()
        if slug not in existing
    ]
    if missing:
        await Role.insert(*missing)
    return len(missing)


def _role_fields(form: dict, permissions: list[str]) -> dict:
    errors = {}
    name = form.get("name", "").strip()
    if not 2 <= len(name) <= 120:
        errors["name"] = "Enter a role name."
    slug = form.get("slug", "").strip().lower() or re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not re.fullmatch(r"[a-z0-9_]{2,60}", slug):
        errors["slug"] = "Lower-case letters, digits and _."
    unknown = set(permissions) - {p.value for p in Permission}
    if unknown:
        errors["permissions"] = f"Unknown permissions: {', '.join(sorted(unknown))}"
    if errors:
        raise ValidationFailed("Please correct the highlighted fields", field_errors=errors)
    return {
        "slug": slug,
        "name": name,
        "description": form.get("description", "").strip()[:2000],
        "privileged": form.get("privileged") in ("on", "true", "1"),
        "permissions": [p.value for p in parse_permissions(permissions)],
    }


async def propose_role_change(actor: Actor, role_id: int | None, form: dict, permissions: list[str]) -> int:
    """Ask for a new role or a changed permission set; a second admin must approve it."""
    actor.require(Permission.ACCESS_ROLE_MANAGE)
    fields = _role_fields(form, permissions)
    reason = form.get("reason", "")
    async with transaction():
        before = None
        if role_id is not None:
            before = await Role.select().where(Role.id == role_id).first()
            if before is None:
                raise NotFound("Role")
            fields["slug"] = before["slug"]
        elif await Role.exists().where(Role.slug == fields["slug"]):
            raise ValidationFailed("Slug already used", field_errors={"slug": "Another role has this slug."})
        return await request_approval(
            actor,
            "access.role.change",
            entity_id=None,
            target_type="role",
            target_id=role_id if role_id is not None else "new",
            target_label=fields["name"],
            payload={
                "role_id": role_id,
                **fields,
                "previous_permissions": before["permissions"] if before else [],
            },
            reason=reason,
        )


async def _apply_role_change(actor: Actor, request: dict) -> None:
    payload = request["payload"]
    values = {k: payload[k] for k in ("name", "description", "privileged", "permissions")}
    if payload["role_id"] is None:
        if await Role.exists().where(Role.slug == payload["slug"]):
            raise Conflict("A role with this slug was created meanwhile")
        rows = await Role.insert(Role(slug=payload["slug"], **values)).returning(Role.id)
        role_id, before = rows[0]["id"], None
    else:
        role_id = payload["role_id"]
        before = await Role.select().where(Role.id == role_id).first()
        await Role.update({**values, Role.updated_at: dt.datetime.now(dt.UTC)}).where(Role.id == role_id)
    await record_audit(
        actor,
        AccessTag.ROLE_CHANGE,
        target_type="role",
        target_id=role_id,
        target_label=payload["name"],
        before=before and {k: before[k] for k in values},
        after=values,
        reason=request["reason"],
        case_id=request["case_id"],
    )


async def _holders_gaining(request: dict) -> list[int]:
    """Staff who hold the role (active or pending) when the change adds permissions to it: they gain by it."""
    payload = request["payload"]
    if payload["role_id"] is None or not set(payload["permissions"]) - set(payload["previous_permissions"]):
        return []
    rows = await fetch(
        """SELECT DISTINCT "user" FROM role_assignment WHERE role = $1 AND status IN ('active', 'pending')""",
        payload["role_id"],
    )
    return [r["user"] for r in rows]


register_action(
    ActionKind(
        name="access.role.change",
        label="Role change",
        approver_permission=Permission.ACCESS_ASSIGNMENT_APPROVE,
        execute=_apply_role_change,
        beneficiaries=_holders_gaining,
    )
)


async def all_roles() -> list[dict]:
    return await Role.select().order_by(Role.name)
