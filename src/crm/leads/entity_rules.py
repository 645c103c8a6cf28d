"""Which entity takes a lead: group-wide rules (brand and country → legal entity), edited in the UI and
changed through group-level maker-checker approval. Matched by one SQL expression, context.entity_rule_sql."""

from __future__ import annotations

import json

from crm.core.approvals.service import ActionKind, register_action, request_approval
from crm.core.audit.service import record_audit
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.core.permissions import Permission
from crm.leads.rulesets import as_json, parse_bounded_int, parse_codes
from crm.leads.tags import LeadsTag


async def entity_rules() -> list[dict]:
    return [
        dict(r) | {"countries": as_json(r["countries"])}
        for r in await fetch(
            "SELECT r.*, e.code AS entity_code FROM lead_entity_rule r JOIN legal_entity e ON e.id = "
            "r.entity_id "
            "ORDER BY r.position, r.id"
        )
    ]


def check_entity_rules(rows: list[dict], entity_ids: set[int]) -> list[dict]:
    """Clean rows {position, brand, countries, entity_id}, or ValidationFailed naming each bad row."""
    errors, clean = {}, []
    for n, row in enumerate(rows, start=1):
        try:
            entity_id = parse_bounded_int(row.get("entity_id"), 1, 2**31, "entity")
            if entity_id not in entity_ids:
                raise ValueError("choose an active entity")
            clean.append(
                {
                    "position": parse_bounded_int(row.get("position"), 0, 10_000, "position") or n * 10,
                    "brand": str(row.get("brand") or "").strip()[:40],
                    "countries": parse_codes(row.get("countries"), "country"),
                    "entity_id": entity_id,
                }
            )
        except ValueError as exc:
            errors[f"row_{n}"] = f"Row {n}: {exc}."
    if errors:
        raise ValidationFailed("Please correct the entity rules", field_errors=errors)
    return sorted(clean, key=lambda r: r["position"])


async def propose_entity_rules(actor: Actor, rows: list[dict], reason: str) -> int:
    """Entity rules decide between entities, so they are group-wide: proposed by someone who manages routing
    in every entity, applied when another such person approves."""
    from crm.core.scope import group_level

    if not await group_level(actor, Permission.LEADS_ROUTING_MANAGE):
        raise PermissionDenied("Entity rules are group-wide: you need routing rights in every entity")
    active = {r["id"] for r in await fetch("SELECT id FROM legal_entity WHERE active")}
    clean = check_entity_rules(rows, active)
    async with transaction():
        return await request_approval(
            actor,
            "leads.entity_rules.change",
            entity_id=None,
            target_type="lead_entity_rule",
            target_id="all",
            target_label="Which entity takes a lead",
            payload={"rules": clean},
            reason=reason,
        )


async def _apply_entity_rules(actor: Actor, request: dict) -> None:
    conn = current_connection()
    before = [
        dict(r) | {"countries": as_json(r["countries"])}
        for r in await conn.fetch(
            "SELECT position, brand, countries, entity_id FROM lead_entity_rule ORDER BY position, id"
        )
    ]
    await conn.execute("DELETE FROM lead_entity_rule")
    rules_ = request["payload"]["rules"]
    await conn.executemany(
        "INSERT INTO lead_entity_rule (position, brand, countries, entity_id) VALUES ($1, $2, $3::jsonb, $4)",
        [(r["position"], r["brand"], json.dumps(r["countries"]), r["entity_id"]) for r in rules_],
    )
    await record_audit(
        actor,
        LeadsTag.ENTITY_RULES_CHANGE,
        target_type="lead_entity_rule",
        target_id="all",
        before=before,
        after=rules_,
        reason=request["reason"],
    )


register_action(
    ActionKind(
        name="leads.entity_rules.change",
        label="Change which entity takes a lead",
        approver_permission=Permission.LEADS_ROUTING_MANAGE,
        execute=_apply_entity_rules,
    )
)
