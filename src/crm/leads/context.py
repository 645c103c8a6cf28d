"""What every part of the leads area reads: references, the lead's routing context (entity, returning owner, IB
manager, published rule sets) in one query, scoring facts, who may see a lead, and the lead's timeline."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass

from crm.core.context import Actor
from crm.core.db import current_connection, fetch
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.permissions import Permission
from crm.leads import rules
from crm.leads.normalise import CleanLead


def reference_for(lead_id: int) -> str:
    return f"LD-{lead_id:06d}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)

# ---- reads used by intake ---------------------------------------------------------------------------------

async def published_rules(kind: str, entity_id: int) -> dict | None:
    rows = await fetch("SELECT * FROM lead_rule_set WHERE kind = $1 AND entity_id = $2 AND status = 'published' "
                       "ORDER BY version DESC LIMIT 1", kind, entity_id)
    if not rows:
        return None
    row = dict(rows[0])
    row["rules"] = json.loads(row["rules"]) if isinstance(row["rules"], str) else row["rules"]
    return row


async def entity_for(lead: CleanLead, source_entity_id: int | None, fallback_entity_id: int | None) -> int:
    """The first entity rule matching brand and country, else the source's entity, else the fallback."""
    for rule in await fetch("SELECT * FROM lead_entity_rule ORDER BY position, id"):
        countries = json.loads(rule["countries"]) if isinstance(rule["countries"], str) else rule["countries"]
        if (not rule["brand"] or rule["brand"].lower() == lead.brand.lower()) and (not countries or lead.country in countries):
            return rule["entity_id"]
    if source_entity_id:
        return source_entity_id
    if fallback_entity_id:
        return fallback_entity_id
    rows = await fetch("SELECT id FROM legal_entity WHERE active ORDER BY id LIMIT 1")
    if not rows:
        raise ValidationFailed("No legal entity can take this lead")
    return rows[0]["id"]


def facts_for(lead: dict, *, entity_code: str, returning: bool, ib_referred: bool, timezone: str = "UTC",
              now: dt.datetime | None = None, score: int | None = None) -> rules.Facts:
    signals = lead.get("signals") or {}
    if isinstance(signals, str):
        signals = json.loads(signals)
    utm = lead.get("utm") or {}
    if isinstance(utm, str):
        utm = json.loads(utm)
    local = (now or _now()).astimezone(rules.zone(timezone))
    return rules.Facts(
        country=lead.get("country") or "", language=lead.get("language") or "", source=lead.get("source") or "",
        campaign=lead.get("campaign") or "", brand=lead.get("brand") or "", utm_medium=utm.get("utm_medium", ""),
        entity_code=entity_code,
        form_complete=all(lead.get(k) for k in ("first_name", "last_name", "email", "phone", "country")),
        has_phone=bool(lead.get("phone")), has_email=bool(lead.get("email")), ib_referred=ib_referred,
        kyc_started=bool(signals.get("kyc_started")), demo_sessions=int(signals.get("demo_sessions") or 0),
        returning_client=returning, score=lead.get("score", 0) if score is None else score, local_hour=local.hour)


@dataclass
class LeadContext:
    """What routing and scoring need to know about a lead's surroundings, read in one round trip."""

    entity_code: str
    returning_owner: int | None
    ib_referred: bool
    ib_manager: int | None
    scoring: dict | None
    routing: dict | None


_CONTEXT = """
SELECT (SELECT code FROM legal_entity WHERE id = $1) AS entity_code,
       (SELECT owner_id FROM (
            SELECT owner AS owner_id, 0 AS rank, 0 AS id FROM client
              WHERE lower(email) = $2 AND $2 <> '' AND entity = $1 AND owner IS NOT NULL
            UNION ALL
            SELECT owner, 0, 0 FROM client WHERE phone = $3 AND $3 <> '' AND entity = $1 AND owner IS NOT NULL
            UNION ALL
            SELECT owner_id, 1, id FROM lead WHERE email_key = $2 AND $2 <> '' AND entity_id = $1
              AND owner_id IS NOT NULL AND id <> coalesce($4, 0) AND merged_into_id IS NULL
            UNION ALL
            SELECT owner_id, 1, id FROM lead WHERE phone = $3 AND $3 <> '' AND entity_id = $1
              AND owner_id IS NOT NULL AND id <> coalesce($4, 0) AND merged_into_id IS NULL
            ORDER BY rank, id DESC LIMIT 1) o) AS returning_owner,
       (SELECT row(manager_id)::text FROM referral_code WHERE code = $5 AND $5 <> '' AND entity_id = $1 AND active) AS ib,
       (SELECT json_agg(json_build_object('id', id, 'kind', kind, 'version', version, 'rules', rules))
          FROM lead_rule_set WHERE entity_id = $1 AND status = 'published') AS rule_sets
"""


async def lead_context(entity_id: int, email_key: str, phone: str, ib_code: str, lead_id: int | None = None) -> LeadContext:
    row = (await fetch(_CONTEXT, entity_id, email_key, phone, lead_id, ib_code))[0]
    sets = {s["kind"]: s for s in json.loads(row["rule_sets"] or "[]")}
    manager = row["ib"].strip("()") if row["ib"] is not None else None
    return LeadContext(row["entity_code"] or "", row["returning_owner"], row["ib"] is not None,
                       int(manager) if manager else None, sets.get("scoring"), sets.get("routing"))


def score_for(lead: dict, ctx: LeadContext) -> tuple[int, list[dict]]:
    facts = facts_for(lead, entity_code=ctx.entity_code, returning=ctx.returning_owner is not None,
                      ib_referred=ctx.ib_referred)
    total, contributions = rules.score(((ctx.scoring or {}).get("rules") or {}).get("rules", []), facts)
    return total, [dataclasses.asdict(c) for c in contributions]


async def add_activity(lead_id: int, actor: Actor, kind: str, body: str = "", data: dict | None = None) -> None:
    await current_connection().execute(
        "INSERT INTO lead_activity (lead, kind, author_id, author_label, body, data, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6::jsonb, now())",
        lead_id, kind, actor.user_id, actor.label, body, json.dumps(data or {}, default=str))


async def locked_lead(actor: Actor, reference: str, permission: Permission = Permission.LEADS_LEAD_WORK) -> dict:
    row = await current_connection().fetchrow("SELECT * FROM lead WHERE reference = $1 FOR UPDATE", reference)
    if row is None or not may_see(actor, dict(row)):
        raise NotFound("Lead")
    if not actor.can(permission, row["entity_id"]):
        raise PermissionDenied("You cannot work leads in this entity")
    if row["merged_into_id"]:
        raise Conflict("This lead was merged into another; work on that one")
    return dict(row)


def may_see(actor: Actor, lead: dict) -> bool:
    """Agents see the leads they own; staff with leads:team:view see every lead of their entities."""
    if actor.is_system:
        return True
    if not actor.can(Permission.LEADS_LEAD_VIEW, lead["entity_id"]):
        return False
    if actor.focus_entity_id is not None and lead["entity_id"] != actor.focus_entity_id:
        return False
    return lead["owner_id"] == actor.user_id or actor.can(Permission.LEADS_TEAM_VIEW, lead["entity_id"])
