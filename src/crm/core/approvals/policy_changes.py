"""Changing an approval policy is itself a rule change: proposed by one admin, applied when another
approves."""

from __future__ import annotations

import datetime as dt

from crm.core.approvals.policies import tiers_from_form
from crm.core.approvals.service import ActionKind, action_kind_names, register_action, request_approval
from crm.core.approvals.tables import ApprovalPolicy
from crm.core.audit.service import record_audit
from crm.core.audit.tags import ApprovalsTag
from crm.core.context import Actor
from crm.core.db import transaction
from crm.core.errors import ValidationFailed
from crm.core.inputs import parse_int
from crm.core.permissions import Permission


async def propose_policy(actor: Actor, form: dict) -> int:
    """Ask for a new or changed policy for (kind, entity); returns the approval request id."""
    kind = form.get("kind", "")
    if kind not in action_kind_names():
        raise ValidationFailed(
            "Choose what the policy is for", field_errors={"kind": "Choose a kind of request."}
        )
    raw_entity = form.get("entity", "")
    entity_id = parse_int(raw_entity)
    if entity_id is not None and not actor.can(Permission.ACCESS_ROLE_MANAGE, entity_id):
        raise ValidationFailed(
            "Choose an entity you manage", field_errors={"entity": "Choose an entity you manage."}
        )
    actor.require(Permission.ACCESS_ROLE_MANAGE)
    tiers = tiers_from_form(form)
    try:
        expiry = int(form.get("expiry_hours") or 168)
    except ValueError:
        raise ValidationFailed(
            "Expiry must be a number of hours", field_errors={"expiry_hours": "Hours, e.g. 72."}
        ) from None
    scope = f"entity {entity_id}" if entity_id else "all entities"
    async with transaction():
        return await request_approval(
            actor,
            "approvals.policy.change",
            entity_id=entity_id,
            target_type="approval_policy",
            target_id=kind,
            target_label=f"Approval policy for {kind} ({scope})",
            payload={"kind": kind, "entity_id": entity_id, "tiers": tiers, "expiry_hours": expiry},
            reason=form.get("reason", ""),
        )


async def _apply(actor: Actor, request: dict) -> None:
    p = request["payload"]
    current = (
        await ApprovalPolicy.select()
        .where(
            (ApprovalPolicy.kind == p["kind"])
            & ApprovalPolicy.active.eq(True)
            & (
                ApprovalPolicy.entity_id.is_null()
                if p["entity_id"] is None
                else ApprovalPolicy.entity_id == p["entity_id"]
            )
        )
        .first()
    )
    version = 1
    if current:
        version = current["version"] + 1
        await ApprovalPolicy.update({ApprovalPolicy.active: False}).where(ApprovalPolicy.id == current["id"])
    await ApprovalPolicy.insert(
        ApprovalPolicy(
            kind=p["kind"],
            entity_id=p["entity_id"],
            tiers=p["tiers"],
            expiry_hours=p["expiry_hours"],
            version=version,
            updated_at=dt.datetime.now(dt.UTC),
        )
    )
    await record_audit(
        actor,
        ApprovalsTag.POLICY_CHANGE,
        target_type="approval_policy",
        target_id=p["kind"],
        entity_id=p["entity_id"],
        before=current and {"tiers": current["tiers"], "version": current["version"]},
        after={"tiers": p["tiers"], "version": version},
        reason=request["reason"],
    )


register_action(
    ActionKind(
        name="approvals.policy.change",
        label="Approval policy change",
        approver_permission=Permission.ACCESS_ASSIGNMENT_APPROVE,
        execute=_apply,
    )
)
