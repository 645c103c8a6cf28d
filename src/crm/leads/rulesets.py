"""Scoring and routing rules as versioned data: a draft is edited in the UI, checked, submitted for approval,
and published when a second person approves (maker ≠ checker, policy per entity). Publishing retires the
previous version; every version stays readable, and each routing decision names the version it used."""

from __future__ import annotations

import json
from typing import Any

import pycountry

from crm.core.approvals.service import ActionKind, register_action, request_approval
from crm.core.audit.service import record_audit
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import Conflict, ValidationFailed
from crm.core.permissions import Permission
from crm.core.scope import in_scope
from crm.leads import rules
from crm.leads.tags import LeadsTag

KINDS = {"routing": "Routing rules", "scoring": "Scoring rules"}


def as_json(value):
    return json.loads(value) if isinstance(value, str) else value


async def versions(kind: str, entity_id: int) -> list[dict]:
    return [
        dict(r) | {"rules": as_json(r["rules"])}
        for r in await fetch(
            "SELECT s.*, u.full_name AS author FROM lead_rule_set s LEFT JOIN staff_user u ON u.id = "
            "s.created_by_id "
            "WHERE s.kind = $1 AND s.entity_id = $2 ORDER BY s.version DESC",
            kind,
            entity_id,
        )
    ]


async def rule_set(actor: Actor, set_id: int) -> dict:
    rows = await fetch("SELECT * FROM lead_rule_set WHERE id = $1", set_id)
    row = in_scope(actor, Permission.LEADS_ROUTING_MANAGE, rows[0] if rows else None, "Rule set")
    return row | {"rules": as_json(row["rules"])}


async def pools_of(entity_id: int) -> list[dict]:
    return [
        dict(r)
        for r in await fetch(
            "SELECT id, name, active FROM lead_pool WHERE entity_id = $1 ORDER BY name", entity_id
        )
    ]


# ---- checking a rules document -----------------------------------------------------------------------------


def parse_codes(raw: Any, kind: str) -> list[str]:
    items = [v.strip() for v in (raw.split(",") if isinstance(raw, str) else raw or []) if str(v).strip()]
    out = []
    for item in items:
        if kind == "country":
            try:
                out.append(pycountry.countries.lookup(item).alpha_2)
            except LookupError:
                raise ValueError(f"unknown country {item!r}") from None
        elif kind == "language":
            try:
                lang = pycountry.languages.lookup(item)
            except LookupError:
                raise ValueError(f"unknown language {item!r}") from None
            out.append(getattr(lang, "alpha_2", None) or lang.alpha_3)
        elif kind == "region":
            if item.upper() not in rules.REGIONS:
                raise ValueError(f"unknown region {item!r} (known: {', '.join(rules.REGIONS)})")
            out.append(item.upper())
        else:
            out.append(item.lower()[:60])
    return out


def parse_bounded_int(raw: Any, low: int, high: int, what: str) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a whole number") from None
    if not low <= value <= high:
        raise ValueError(f"{what} must be {low} to {high}")
    return value


def check_routing(doc: dict, pool_ids: set[int]) -> dict:
    """A clean routing document, or ValidationFailed naming each bad rule."""
    errors: dict[str, str] = {}
    clean_rules = []
    for n, rule in enumerate(doc.get("rules") or [], start=1):
        try:
            when = rule.get("when") or {}
            pool_id = parse_bounded_int(rule.get("pool_id"), 1, 2**31, "pool")
            if pool_id not in pool_ids:
                raise ValueError("choose a pool of this entity")
            hours = None
            if when.get("hours"):
                start, end = (parse_bounded_int(h, 0, 24, "hour") for h in when["hours"])
                if start is None or end is None or start == end:
                    raise ValueError("hours need a different start and end (0-24)")
                hours = [start, end]
            ib = when.get("ib_referred")
            clean_when = {
                "countries": parse_codes(when.get("countries"), "country"),
                "regions": parse_codes(when.get("regions"), "region"),
                "languages": parse_codes(when.get("languages"), "language"),
                "sources": parse_codes(when.get("sources"), "text"),
                "brands": parse_codes(when.get("brands"), "text"),
                "score_min": parse_bounded_int(when.get("score_min"), 0, 100, "minimum score"),
                "score_max": parse_bounded_int(when.get("score_max"), 0, 100, "maximum score"),
                "ib_referred": None if ib in (None, "", "any") else ib in (True, "yes", "true", "1"),
                "hours": hours,
            }
            if (
                clean_when["score_min"] is not None
                and clean_when["score_max"] is not None
                and clean_when["score_min"] > clean_when["score_max"]
            ):
                raise ValueError("the minimum score is above the maximum")
            name = " ".join(str(rule.get("name") or "").split())[:120] or f"Rule {n}"
            clean_rules.append({"name": name, "when": clean_when, "pool_id": pool_id})
        except ValueError as exc:
            errors[f"rule_{n}"] = f"Rule {n}: {exc}."
    overrides = doc.get("overrides") or {}
    clean_overrides: dict[str, Any] = {
        "returning_client": bool(overrides.get("returning_client", True)),
        "ib_manager": bool(overrides.get("ib_manager", True)),
    }
    try:
        clean_overrides["vip_min_score"] = parse_bounded_int(
            overrides.get("vip_min_score"), 0, 100, "VIP score"
        )
        vip_pool = parse_bounded_int(overrides.get("vip_pool_id"), 1, 2**31, "VIP pool")
        if (vip_pool is None) != (clean_overrides["vip_min_score"] is None):
            raise ValueError("give both the VIP score and the VIP pool, or neither")
        if vip_pool is not None and vip_pool not in pool_ids:
            raise ValueError("the VIP pool must belong to this entity")
        clean_overrides["vip_pool_id"] = vip_pool
        bands = []
        for band in overrides.get("sla_by_score") or []:
            low = parse_bounded_int(band.get("min_score"), 0, 100, "SLA band score")
            seconds = parse_bounded_int(band.get("seconds"), 30, 7 * 86400, "SLA seconds")
            if low is not None and seconds is not None:
                bands.append({"min_score": low, "seconds": seconds})
        clean_overrides["sla_by_score"] = bands
    except ValueError as exc:
        errors["overrides"] = f"{exc}."
    fallback = doc.get("fallback_pool_id")
    try:
        fallback = parse_bounded_int(fallback, 1, 2**31, "fallback pool")
        if fallback is not None and fallback not in pool_ids:
            raise ValueError("the fallback pool must belong to this entity")
    except ValueError as exc:
        errors["fallback"] = f"{exc}."
    timezone = str(doc.get("timezone") or "UTC")
    if rules.zone(timezone).key != timezone:
        errors["timezone"] = f"Unknown time zone {timezone!r} (e.g. Europe/Nicosia)."
    if errors:
        raise ValidationFailed("Please correct the rules", field_errors=errors)
    return {
        "rules": clean_rules,
        "overrides": clean_overrides,
        "fallback_pool_id": fallback,
        "timezone": timezone,
    }


def check_scoring(doc: dict) -> dict:
    errors, clean_rules = {}, []
    for n, rule in enumerate(doc.get("rules") or [], start=1):
        field, op = rule.get("field"), rule.get("op") or "eq"
        try:
            if field not in rules.SCORING_FIELDS:
                raise ValueError("choose a field")
            if op not in rules.OPS:
                raise ValueError("choose a test")
            kind = rules.SCORING_FIELDS[field]
            if kind == "bool" and op not in ("true", "false"):
                raise ValueError(f"{field} is yes/no: test it with 'is yes' or 'is no'")
            if op in ("gte", "lte"):
                float(rule.get("value"))
            elif op not in ("true", "false") and not str(rule.get("value") or "").strip():
                raise ValueError("give a value")
            points = parse_bounded_int(rule.get("points"), -100, 100, "points")
            if points is None:
                raise ValueError("give the points")
            value = rule.get("value")
            if op in ("in", "not_in") and isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            clean_rules.append(
                {
                    "name": " ".join(str(rule.get("name") or "").split())[:120] or f"{field} {rules.OPS[op]}",
                    "field": field,
                    "op": op,
                    "value": value,
                    "points": points,
                }
            )
        except (TypeError, ValueError) as exc:
            errors[f"rule_{n}"] = f"Rule {n}: {exc}."
    if errors:
        raise ValidationFailed("Please correct the rules", field_errors=errors)
    return {"rules": clean_rules}


async def check(kind: str, entity_id: int, doc: dict) -> dict:
    if kind == "routing":
        return check_routing(doc, {p["id"] for p in await pools_of(entity_id) if p["active"]})
    if kind == "scoring":
        return check_scoring(doc)
    raise ValidationFailed("Unknown kind of rules")


# ---- drafts, submission, publication -----------------------------------------------------------------------


async def save_draft(actor: Actor, kind: str, entity_id: int, doc: dict, note: str = "") -> dict:
    """Write the entity's draft (creating it from the published version's number + 1); a submitted draft is
    frozen until decided."""
    actor.require(Permission.LEADS_ROUTING_MANAGE, entity_id)
    clean = await check(kind, entity_id, doc)
    async with transaction():
        conn = current_connection()
        draft = await conn.fetchrow(
            "SELECT * FROM lead_rule_set WHERE kind = $1 AND entity_id = $2 AND status IN "
            "('draft', 'pending') ORDER BY version DESC LIMIT 1 FOR UPDATE",
            kind,
            entity_id,
        )
        if draft and draft["status"] == "pending":
            raise Conflict("This draft is waiting for approval; it can change again once decided")
        if draft:
            await conn.execute(
                "UPDATE lead_rule_set SET rules = $2::jsonb, note = $3, created_by_id = $4 WHERE id = $1",
                draft["id"],
                json.dumps(clean),
                note[:2000],
                actor.user_id,
            )
            set_id, version = draft["id"], draft["version"]
        else:
            version = await conn.fetchval(
                "SELECT coalesce(max(version), 0) + 1 FROM lead_rule_set WHERE kind = $1 AND entity_id = $2",
                kind,
                entity_id,
            )
            set_id = await conn.fetchval(
                "INSERT INTO lead_rule_set (kind, entity_id, version, status, rules, note, created_by_id, "
                "created_at) "
                "VALUES ($1, $2, $3, 'draft', $4::jsonb, $5, $6, now()) RETURNING id",
                kind,
                entity_id,
                version,
                json.dumps(clean),
                note[:2000],
                actor.user_id,
            )
        await record_audit(
            actor,
            LeadsTag.RULES_DRAFT,
            target_type="lead_rule_set",
            target_id=set_id,
            target_label=f"{KINDS[kind]} v{version}",
            entity_id=entity_id,
            after=clean,
        )
    return {"id": set_id, "version": version, "rules": clean}


async def submit(actor: Actor, set_id: int, reason: str) -> int:
    """Ask for the draft to be published; the approval binds the exact rules submitted."""
    async with transaction():
        row = in_scope(
            actor,
            Permission.LEADS_ROUTING_MANAGE,
            await current_connection().fetchrow(
                "SELECT * FROM lead_rule_set WHERE id = $1 FOR UPDATE", set_id
            ),
            "Rule set",
        )
        if row["status"] != "draft":
            raise Conflict(f"Only a draft can be submitted (this one is {row['status']})")
        doc = as_json(row["rules"])
        request_id = await request_approval(
            actor,
            "leads.rules.publish",
            entity_id=row["entity_id"],
            target_type="lead_rule_set",
            target_id=set_id,
            target_label=f"{KINDS[row['kind']]} v{row['version']}",
            reason=reason,
            payload={"rule_set_id": set_id, "kind": row["kind"], "version": row["version"], "rules": doc},
        )
        await current_connection().execute(
            "UPDATE lead_rule_set SET status = 'pending', approval_request_id = $2 WHERE id = $1",
            set_id,
            request_id,
        )
    return request_id


async def _publish(actor: Actor, request: dict) -> None:
    p = request["payload"]
    conn = current_connection()
    row = await conn.fetchrow("SELECT * FROM lead_rule_set WHERE id = $1 FOR UPDATE", p["rule_set_id"])
    if row is None or row["status"] != "pending":
        raise Conflict("This rule set is no longer waiting for approval")
    current = await conn.fetchrow(
        "SELECT * FROM lead_rule_set WHERE kind = $1 AND entity_id = $2 AND status = 'published'",
        row["kind"],
        row["entity_id"],
    )
    if current:
        await conn.execute("UPDATE lead_rule_set SET status = 'retired' WHERE id = $1", current["id"])
    await conn.execute(
        "UPDATE lead_rule_set SET status = 'published', rules = $2::jsonb, published_at = now() WHERE id = "
        "$1",
        row["id"],
        json.dumps(p["rules"]),
    )
    await record_audit(
        actor,
        LeadsTag.RULES_PUBLISH,
        target_type="lead_rule_set",
        target_id=row["id"],
        target_label=f"{KINDS[row['kind']]} v{row['version']}",
        entity_id=row["entity_id"],
        before=as_json(current["rules"]) if current else None,
        after=p["rules"],
        reason=request["reason"],
    )


async def _back_to_draft(actor: Actor, request: dict) -> None:
    await current_connection().execute(
        "UPDATE lead_rule_set SET status = 'draft' WHERE id = $1 AND status = 'pending'",
        request["payload"]["rule_set_id"],
    )


register_action(
    ActionKind(
        name="leads.rules.publish",
        label="Publish lead scoring or routing rules",
        approver_permission=Permission.LEADS_ROUTING_MANAGE,
        execute=_publish,
        on_reject=_back_to_draft,
    )
)
