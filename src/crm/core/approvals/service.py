"""Maker-checker for any action: areas register an action kind, then ask for approval instead of acting.

A request binds the kind, its target, the exact payload (by SHA-256) and the maker. The action's executor
runs in the same transaction as the approval that satisfies the request. Neither the maker nor anyone the
request benefits (the kind names them: a grant's grantee, a role's holders, a client's owner) may decide it,
nor, where the entity's policy says so, a holder of an excluded role; approvers must be distinct, rejection
needs a reason, and an amended payload leaves earlier approvals behind (they were given to the old hash).
Every step is audited with the request's case id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crm.core.approvals.policies import holds_role, requirement_for
from crm.core.approvals.tables import ApprovalDecision, ApprovalRequest, ApprovalStatus
from crm.core.audit.chain import normalise
from crm.core.audit.service import record_audit
from crm.core.audit.tags import ApprovalsTag
from crm.core.context import Actor
from crm.core.db import fetch, transaction
from crm.core.errors import Conflict, NotFound, PermissionDenied, SegregationOfDuties, ValidationFailed
from crm.core.labels import LABELS
from crm.core.permissions import Permission

Executor = Callable[[Actor, dict], Awaitable[None]]
# request -> the staff user ids it benefits, who therefore may not decide it
Beneficiaries = Callable[[dict], Awaitable[list[int]]]


@dataclass(frozen=True)
class ActionKind:
    """An action that needs approval: who may check it, what runs when approved, what runs when refused."""

    name: str
    label: str
    approver_permission: Permission
    execute: Executor
    on_reject: Executor | None = None
    required_approvals: int = 1
    beneficiaries: Beneficiaries | None = None


_KINDS: dict[str, ActionKind] = {}


def register_action(kind: ActionKind) -> None:
    _KINDS[kind.name] = kind
    LABELS.add("approval_kind", {kind.name: kind.label})


def action_kind_names() -> list[str]:
    return sorted(_KINDS)


def action_kind(name: str) -> ActionKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise NotFound("Approval kind") from None


def payload_hash(payload: Any) -> str:
    text = json.dumps(normalise(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _audit_fields(request: dict) -> dict:
    return {
        "target_type": "approval_request",
        "target_id": request["id"],
        "target_label": f"{request['kind']} {request['target_type']}:{request['target_id']}",
        "entity_id": request["entity_id"],
        "case_id": request["case_id"],
    }


async def request_approval(
    actor: Actor,
    kind: str,
    *,
    entity_id: int | None,
    target_type: str,
    target_id: Any,
    target_label: str,
    payload: dict,
    reason: str,
    case_id: str | None = None,
    expires_in: dt.timedelta | None = dt.timedelta(days=7),
    amount: Decimal | None = None,
    conflicted: list[int] = (),
) -> int:
    """Record a pending request in the caller's transaction; returns its id.

    The entity's approval policy for the kind (by `amount` tier) sets how many distinct checkers it needs,
    whether one of them must hold a given role and which role none of them may hold; without a policy the
    kind's default applies. `conflicted` names further users who may not decide it (with the kind's
    beneficiaries, they are kept on the request).
    """
    spec = action_kind(kind)
    if not reason.strip():
        raise ValidationFailed("A reason is required", field_errors={"reason": "Say why this is needed."})
    need = await requirement_for(kind, entity_id, amount, spec.required_approvals)
    if need.expiry_hours:
        expires_in = dt.timedelta(hours=need.expiry_hours)
    payload = normalise(payload)
    draft = {"kind": kind, "entity_id": entity_id, "target_type": target_type, "target_id": str(target_id)}
    conflicts = sorted(set(conflicted) | set(await _beneficiaries(spec, {**draft, "payload": payload})))
    rows = await ApprovalRequest.insert(
        ApprovalRequest(
            kind=kind,
            entity_id=entity_id,
            target_type=target_type,
            target_id=str(target_id),
            target_label=target_label[:200],
            payload=payload,
            payload_hash=payload_hash(payload),
            maker_id=actor.user_id,
            maker_label=actor.label,
            status=ApprovalStatus.PENDING,
            required_approvals=need.approvals,
            approver_permission=spec.approver_permission.value,
            reason=reason.strip(),
            case_id=case_id,
            amount=amount,
            required_role=need.require_role,
            excluded_role=need.exclude_role,
            conflicted_ids=conflicts,
            policy_id=need.policy_id,
            policy_version=need.policy_version,
            expires_at=dt.datetime.now(dt.UTC) + expires_in if expires_in else None,
        )
    ).returning(ApprovalRequest.id)
    request_id = rows[0]["id"]
    request = (
        await ApprovalRequest.select().where(ApprovalRequest.id == request_id).first().output(load_json=True)
    )
    await record_audit(
        actor,
        ApprovalsTag.REQUEST_CREATE,
        after={"payload": payload},
        reason=reason,
        **_audit_fields(request),
    )
    return request_id


def _decoded(request: dict) -> dict:
    if isinstance(request.get("payload"), str):
        request = {**request, "payload": json.loads(request["payload"])}
    return request


async def _locked_pending(request_id: int) -> dict:
    rows = await ApprovalRequest.raw("SELECT * FROM approval_request WHERE id = {} FOR UPDATE", request_id)
    if not rows:
        raise NotFound("Approval request")
    request = _decoded(rows[0])
    if request["status"] != ApprovalStatus.PENDING:
        raise Conflict(f"This request is already {request['status']}")
    if request["expires_at"] and request["expires_at"] <= dt.datetime.now(dt.UTC):
        await ApprovalRequest.update({ApprovalRequest.status: ApprovalStatus.EXPIRED}).where(
            ApprovalRequest.id == request_id
        )
        raise Conflict("This request has expired")
    return request


async def _all_entity_ids() -> list[int]:
    return [r["id"] for r in await fetch("SELECT id FROM legal_entity WHERE active")]


async def may_decide(actor: Actor, request: dict, entity_ids: list[int] | None = None) -> bool:
    """Entity requests need the approver permission in that entity; group-wide ones (entity None, e.g. a role
    definition that applies everywhere) need it in every active entity: only group-level oversight decides
    them."""
    permission = request["approver_permission"]
    if request["entity_id"] is not None:
        return actor.can(permission, request["entity_id"])
    entity_ids = await _all_entity_ids() if entity_ids is None else entity_ids
    return bool(entity_ids) and all(actor.can(permission, e) for e in entity_ids)


async def _beneficiaries(spec: ActionKind, request: dict) -> list[int]:
    return list(await spec.beneficiaries(request)) if spec.beneficiaries else []


async def conflict_of(actor: Actor, request: dict) -> str | None:
    """Why the actor may not decide the request although they may see it, or None."""
    request = _decoded(request)
    if request["maker_id"] == actor.user_id:
        return "You made this request, so someone else must decide it."
    benefiting = set(request.get("conflicted_ids") or []) | set(
        await _beneficiaries(action_kind(request["kind"]), request)
    )
    if actor.user_id in benefiting:
        return "This request benefits you, so someone else must decide it."
    excluded = request.get("excluded_role")
    if excluded and await holds_role(actor.user_id, excluded, request["entity_id"]):
        return f"The approval policy excludes holders of the role '{excluded}' from deciding this request."
    return None


async def _check_checker(actor: Actor, request: dict) -> None:
    conflict = await conflict_of(actor, request)
    if conflict:
        raise SegregationOfDuties(conflict)
    if not await may_decide(actor, request):
        raise PermissionDenied("You may not decide this request")


async def approve(actor: Actor, request_id: int, seen_payload_hash: str, reason: str = "") -> str:
    """Add the actor's approval; when enough distinct approvals exist, run the action. Returns the status."""
    async with transaction():
        request = await _locked_pending(request_id)
        await _check_checker(actor, request)
        if seen_payload_hash != request["payload_hash"]:
            raise Conflict("The request changed after you opened it; review it again")
        already = await ApprovalDecision.exists().where(
            (ApprovalDecision.request == request_id)
            & (ApprovalDecision.approver_id == actor.user_id)
            & (ApprovalDecision.payload_hash == request["payload_hash"])
        )
        if already:
            raise SegregationOfDuties("You have already approved this request")
        await ApprovalDecision.insert(
            ApprovalDecision(
                request=request_id,
                approver_id=actor.user_id,
                approver_label=actor.label,
                decision="approve",
                reason=reason.strip(),
                payload_hash=request["payload_hash"],
            )
        )
        await record_audit(
            actor, ApprovalsTag.REQUEST_APPROVE, reason=reason or None, **_audit_fields(request)
        )
        approvers = [
            d["approver_id"]
            for d in await ApprovalDecision.select(ApprovalDecision.approver_id).where(
                (ApprovalDecision.request == request_id)
                & (ApprovalDecision.decision == "approve")
                & (ApprovalDecision.payload_hash == request["payload_hash"])
            )
        ]
        if not await _satisfied(request, approvers):
            return ApprovalStatus.PENDING
        await ApprovalRequest.update(
            {
                ApprovalRequest.status: ApprovalStatus.APPROVED,
                ApprovalRequest.decided_at: dt.datetime.now(dt.UTC),
            }
        ).where(ApprovalRequest.id == request_id)
        await action_kind(request["kind"]).execute(actor, request)
        return ApprovalStatus.APPROVED


async def _satisfied(request: dict, approvers: list[int]) -> bool:
    """Enough distinct approvals of the current payload, and the required role among them if the tier asks."""
    if len(set(approvers)) < request["required_approvals"]:
        return False
    role = request.get("required_role")
    if not role:
        return True
    for approver in approvers:
        if await holds_role(approver, role, request["entity_id"]):
            return True
    return False


async def reject(actor: Actor, request_id: int, reason: str) -> None:
    """Refuse the request (a reason is required) and let the area undo any pending state."""
    if not reason.strip():
        raise ValidationFailed(
            "A reason is required to reject", field_errors={"reason": "Say why you reject it."}
        )
    async with transaction():
        request = await _locked_pending(request_id)
        await _check_checker(actor, request)
        await ApprovalDecision.insert(
            ApprovalDecision(
                request=request_id,
                approver_id=actor.user_id,
                approver_label=actor.label,
                decision="reject",
                reason=reason.strip(),
                payload_hash=request["payload_hash"],
            )
        )
        await ApprovalRequest.update(
            {
                ApprovalRequest.status: ApprovalStatus.REJECTED,
                ApprovalRequest.decided_at: dt.datetime.now(dt.UTC),
            }
        ).where(ApprovalRequest.id == request_id)
        await record_audit(actor, ApprovalsTag.REQUEST_REJECT, reason=reason, **_audit_fields(request))
        spec = action_kind(request["kind"])
        if spec.on_reject:
            await spec.on_reject(actor, request)


async def amend_payload(actor: Actor, request_id: int, payload: dict, reason: str) -> None:
    """The maker changes what they ask for; approvals given to the old payload no longer count."""
    async with transaction():
        request = await _locked_pending(request_id)
        if request["maker_id"] != actor.user_id:
            raise PermissionDenied("Only the maker can change a request")
        payload = normalise(payload)
        await ApprovalRequest.update(
            {ApprovalRequest.payload: payload, ApprovalRequest.payload_hash: payload_hash(payload)}
        ).where(ApprovalRequest.id == request_id)
        await record_audit(
            actor,
            ApprovalsTag.REQUEST_AMEND,
            before={"payload": request["payload"]},
            after={"payload": payload},
            reason=reason,
            **_audit_fields(request),
        )


async def pending_for(actor: Actor) -> list[dict]:
    """Pending requests this actor could decide, and their own pending requests, newest first."""
    rows = (
        await ApprovalRequest.select()
        .where(ApprovalRequest.status == ApprovalStatus.PENDING)
        .order_by(ApprovalRequest.id, ascending=False)
        .limit(200)
        .output(load_json=True)
    )
    entity_ids = await _all_entity_ids()
    return [
        r
        for r in rows
        if r["maker_id"] == actor.user_id
        or actor.user_id in (r["conflicted_ids"] or [])
        or await may_decide(actor, r, entity_ids)
    ]


async def get_request(actor: Actor, request_id: int) -> tuple[dict, list[dict]]:
    request = (
        await ApprovalRequest.select().where(ApprovalRequest.id == request_id).first().output(load_json=True)
    )
    visible = request is not None and (
        request["maker_id"] == actor.user_id
        or actor.user_id in (request["conflicted_ids"] or [])
        or await may_decide(actor, request)
    )
    if not visible:
        raise NotFound("Approval request")
    decisions = (
        await ApprovalDecision.select()
        .where(ApprovalDecision.request == request_id)
        .order_by(ApprovalDecision.id)
    )
    return request, decisions
