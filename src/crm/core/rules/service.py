"""Rules as versioned data, for any area: a kind of rules (KYC requirements, risk scoring, thresholds ...) is
registered with who may edit it and how a document of it is checked; each entity has its own versions.

A draft is edited (checked on every save), submitted for approval, and published when a second person
approves it (maker ≠ checker, the entity's approval policy); publishing retires the version in force. Every
version stays readable with its author, approver and times, and whatever decides by the rules names the
version it used (`current` returns it). Drafts and publications are audited with the document before and
after.

    register_rule_kind(RuleKind("kyc.requirements", "KYC requirements", Permission.KYC_RULES_MANAGE, check))
    await save_draft(actor, "kyc.requirements", entity_id, document)
    await submit(actor, version_id, reason)        # -> approval request "kyc.requirements.publish"
    version = await current("kyc.requirements", entity_id)   # {"id", "version", "document", ...} or None
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from crm.core.approvals.service import ActionKind, register_action, request_approval
from crm.core.audit.service import record_audit
from crm.core.audit.tags import RulesTag
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import Conflict, NotFound
from crm.core.labels import LABELS
from crm.core.permissions import Permission
from crm.core.scope import in_scope


@dataclass(frozen=True)
class RuleKind:
    """A kind of rules: `check(document) -> clean document` raises ValidationFailed naming what to fix."""

    name: str
    label: str
    permission: Permission  # to draft, submit and approve
    check: Callable[[dict], dict]


_KINDS: dict[str, RuleKind] = {}


def register_rule_kind(kind: RuleKind) -> RuleKind:
    _KINDS[kind.name] = kind
    LABELS.add("rule_kind", {kind.name: kind.label})
    register_action(
        ActionKind(
            name=f"{kind.name}.publish",
            label=f"Publish {kind.label[0].lower()}{kind.label[1:]}",
            approver_permission=kind.permission,
            execute=_publish,
            on_reject=_back_to_draft,
        )
    )
    return kind


def rule_kind(name: str) -> RuleKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise NotFound("Kind of rules") from None


def _decoded(row) -> dict:
    row = dict(row)
    if isinstance(row.get("document"), str):
        row["document"] = json.loads(row["document"])
    return row


def _label(kind: RuleKind, version: int) -> str:
    return f"{kind.label} v{version}"


async def current(kind: str, entity_id: int) -> dict | None:
    """The version in force for the entity, or None."""
    rows = await fetch(
        "SELECT * FROM rule_version WHERE kind = $1 AND entity_id = $2 AND status = 'published'",
        kind,
        entity_id,
    )
    return _decoded(rows[0]) if rows else None


async def versions(actor: Actor, kind: str, entity_id: int) -> list[dict]:
    """Every version of the entity's rules of this kind, newest first (for those who may edit them)."""
    actor.require(rule_kind(kind).permission, entity_id)
    rows = await fetch(
        "SELECT v.*, u.full_name AS author FROM rule_version v "
        "LEFT JOIN staff_user u ON u.id = v.created_by WHERE v.kind = $1 AND v.entity_id = $2 "
        "ORDER BY v.version DESC",
        kind,
        entity_id,
    )
    return [_decoded(r) for r in rows]


async def version(actor: Actor, version_id: int) -> dict:
    rows = await fetch("SELECT * FROM rule_version WHERE id = $1", version_id)
    if not rows:
        raise NotFound("Rules")
    return _decoded(in_scope(actor, rule_kind(rows[0]["kind"]).permission, rows[0], "Rules"))


async def save_draft(actor: Actor, kind: str, entity_id: int, document: dict, note: str = "") -> dict:
    """Write the entity's draft of this kind (a new version number after the latest); a submitted draft is
    frozen until decided."""
    spec = rule_kind(kind)
    actor.require(spec.permission, entity_id)
    clean = spec.check(document)
    async with transaction():
        conn = current_connection()
        draft = await conn.fetchrow(
            "SELECT * FROM rule_version WHERE kind = $1 AND entity_id = $2 "
            "AND status IN ('draft', 'pending') ORDER BY version DESC LIMIT 1 FOR UPDATE",
            kind,
            entity_id,
        )
        if draft and draft["status"] == "pending":
            raise Conflict("This draft is waiting for approval; it can change again once decided")
        if draft:
            before = json.loads(draft["document"])
            await conn.execute(
                "UPDATE rule_version SET document = $2::jsonb, note = $3, created_by = $4 WHERE id = $1",
                draft["id"],
                json.dumps(clean),
                note[:2000],
                actor.user_id,
            )
            version_id, number = draft["id"], draft["version"]
        else:
            before = None
            number = await conn.fetchval(
                "SELECT coalesce(max(version), 0) + 1 FROM rule_version WHERE kind = $1 AND entity_id = $2",
                kind,
                entity_id,
            )
            version_id = await conn.fetchval(
                "INSERT INTO rule_version (kind, entity_id, version, status, document, note, created_by, "
                "created_at) VALUES ($1, $2, $3, 'draft', $4::jsonb, $5, $6, now()) RETURNING id",
                kind,
                entity_id,
                number,
                json.dumps(clean),
                note[:2000],
                actor.user_id,
            )
        await record_audit(
            actor,
            RulesTag.VERSION_DRAFT,
            target_type="rule_version",
            target_id=version_id,
            target_label=_label(spec, number),
            entity_id=entity_id,
            before=before,
            after=clean,
        )
    return {"id": version_id, "version": number, "document": clean}


async def submit(actor: Actor, version_id: int, reason: str) -> int:
    """Ask for the draft to be published; the approval binds the exact document submitted."""
    async with transaction():
        conn = current_connection()
        row = await conn.fetchrow("SELECT * FROM rule_version WHERE id = $1 FOR UPDATE", version_id)
        if row is None:
            raise NotFound("Rules")
        spec = rule_kind(row["kind"])
        row = in_scope(actor, spec.permission, row, "Rules")
        if row["status"] != "draft":
            raise Conflict(f"Only a draft can be submitted (this one is {row['status']})")
        request_id = await request_approval(
            actor,
            f"{spec.name}.publish",
            entity_id=row["entity_id"],
            target_type="rule_version",
            target_id=version_id,
            target_label=_label(spec, row["version"]),
            reason=reason,
            payload={
                "version_id": version_id,
                "kind": spec.name,
                "version": row["version"],
                "document": json.loads(row["document"]),
            },
        )
        await conn.execute(
            "UPDATE rule_version SET status = 'pending', approval_request_id = $2 WHERE id = $1",
            version_id,
            request_id,
        )
    return request_id


async def _publish(actor: Actor, request: dict) -> None:
    p = request["payload"]
    conn = current_connection()
    row = await conn.fetchrow("SELECT * FROM rule_version WHERE id = $1 FOR UPDATE", p["version_id"])
    if row is None or row["status"] != "pending":
        raise Conflict("These rules are no longer waiting for approval")
    spec = rule_kind(row["kind"])
    spec.check(p["document"])  # still valid as the code now reads it
    in_force = await conn.fetchrow(
        "SELECT * FROM rule_version WHERE kind = $1 AND entity_id = $2 AND status = 'published' FOR UPDATE",
        row["kind"],
        row["entity_id"],
    )
    if in_force:
        await conn.execute(
            "UPDATE rule_version SET status = 'retired', retired_at = now() WHERE id = $1", in_force["id"]
        )
    await conn.execute(
        "UPDATE rule_version SET status = 'published', document = $2::jsonb, published_at = now(), "
        "approved_by = $3 WHERE id = $1",
        row["id"],
        json.dumps(p["document"]),
        actor.user_id,
    )
    await record_audit(
        actor,
        RulesTag.VERSION_PUBLISH,
        target_type="rule_version",
        target_id=row["id"],
        target_label=_label(spec, row["version"]),
        entity_id=row["entity_id"],
        before=json.loads(in_force["document"]) if in_force else None,
        after=p["document"],
        reason=request["reason"],
    )


async def _back_to_draft(actor: Actor, request: dict) -> None:
    await current_connection().execute(
        "UPDATE rule_version SET status = 'draft', approval_request_id = NULL "
        "WHERE id = $1 AND status = 'pending'",
        request["payload"]["version_id"],
    )
