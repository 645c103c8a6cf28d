"""What every part of the leads area reads: references, the lead's routing context (entity, returning owner,
IB manager, published rule sets) in one query, scoring facts, who may see a lead, and the lead's timeline."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

from crm.core.context import Actor
from crm.core.db import current_connection, fetch
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.permissions import Permission
from crm.core.scope import sees
from crm.leads import rules
from crm.leads.duplicate_evidence import duplicates_sql, scored_duplicate
from crm.leads.normalise import CleanLead


def reference_for(lead_id: int) -> str:
    return f"LD-{lead_id:06d}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---- reads used by intake ---------------------------------------------------------------------------------


async def published_rules(kind: str, entity_id: int) -> dict | None:
    rows = await fetch(
        "SELECT * FROM lead_rule_set WHERE kind = $1 AND entity_id = $2 AND status = 'published' "
        "ORDER BY version DESC LIMIT 1",
        kind,
        entity_id,
    )
    if not rows:
        return None
    row = dict(rows[0])
    row["rules"] = json.loads(row["rules"]) if isinstance(row["rules"], str) else row["rules"]
    return row


def facts_for(
    lead: dict,
    *,
    entity_code: str,
    returning: bool,
    ib_referred: bool,
    timezone: str = "UTC",
    now: dt.datetime | None = None,
    score: int | None = None,
) -> rules.Facts:
    signals = lead.get("signals") or {}
    if isinstance(signals, str):
        signals = json.loads(signals)
    utm = lead.get("utm") or {}
    if isinstance(utm, str):
        utm = json.loads(utm)
    local = (now or _now()).astimezone(rules.zone(timezone))
    return rules.Facts(
        country=lead.get("country") or "",
        language=lead.get("language") or "",
        source=lead.get("source") or "",
        campaign=lead.get("campaign") or "",
        brand=lead.get("brand") or "",
        utm_medium=utm.get("utm_medium", ""),
        entity_code=entity_code,
        form_complete=all(lead.get(k) for k in ("first_name", "last_name", "email", "phone", "country")),
        has_phone=bool(lead.get("phone")),
        has_email=bool(lead.get("email")),
        ib_referred=ib_referred,
        kyc_started=bool(signals.get("kyc_started")),
        demo_sessions=int(signals.get("demo_sessions") or 0),
        returning_client=returning,
        score=lead.get("score", 0) if score is None else score,
        local_hour=local.hour,
    )


@dataclass
class LeadContext:
    """What routing and scoring need to know about a lead's surroundings, read in one round trip."""

    entity_code: str
    returning_owner: int | None
    ib_referred: bool
    ib_manager: int | None
    scoring: dict | None
    routing: dict | None


# The context, given the entity: $1 entity, $2 e-mail key, $3 phone, $4 the lead's own id (if saved), $5 IB
# code.
_CONTEXT = """
WITH e AS ({entity})
SELECT e.id AS entity_id, (SELECT code FROM legal_entity WHERE id = e.id) AS entity_code,
       (SELECT owner_id FROM (
            SELECT owner AS owner_id, 0 AS rank, 0 AS id FROM client
              WHERE lower(email) = $2 AND $2 <> '' AND entity = e.id AND owner IS NOT NULL
            UNION ALL
            SELECT owner, 0, 0 FROM client WHERE phone = $3 AND $3 <> '' AND entity = e.id
                AND owner IS NOT NULL
            UNION ALL
            SELECT owner_id, 1, id FROM lead WHERE email_key = $2 AND $2 <> '' AND entity_id = e.id
              AND owner_id IS NOT NULL AND id <> coalesce($4, 0) AND merged_into_id IS NULL
            UNION ALL
            SELECT owner_id, 1, id FROM lead WHERE phone = $3 AND $3 <> '' AND entity_id = e.id
              AND owner_id IS NOT NULL AND id <> coalesce($4, 0) AND merged_into_id IS NULL
            ORDER BY rank, id DESC LIMIT 1) o) AS returning_owner,
       (SELECT row(manager_id)::text FROM referral_code WHERE code = $5 AND $5 <> '' AND entity_id = e.id
           AND active) AS ib,
       (SELECT json_agg(json_build_object('id', id, 'kind', kind, 'version', version, 'rules', rules))
          FROM lead_rule_set WHERE entity_id = e.id AND status = 'published') AS rule_sets{extra}
FROM e
"""
_KNOWN_ENTITY = "SELECT $1::int AS id"


def entity_rule_sql(brand: str, country: str) -> str:
    """The entity rule, as an SQL expression of a brand and a country: the first `lead_entity_rule` row by
    position (rows edited in the UI, rulesets.py) whose brand (empty: any) and countries ([]: any) match, else
    NULL. Its one definition: intake's context query and CSV imports (`entities_by_rules`) both use it."""
    # brand and country are placeholders or column names written in this module, never input
    return (
        "(SELECT r.entity_id FROM lead_entity_rule r "  # noqa: S608
        f"WHERE (r.brand = '' OR lower(r.brand) = lower({brand})) "
        f"AND (r.countries = '[]'::jsonb OR r.countries ? {country}) ORDER BY r.position, r.id LIMIT 1)"
    )


# For a new lead: the entity rule for its brand ($6) and country ($7), else the source's or the caller's
# entity ($1), else the first active entity.
_RULED_ENTITY = (
    f"SELECT coalesce({entity_rule_sql('$6', '$7')}, $1::int, "  # noqa: S608
    "(SELECT id FROM legal_entity WHERE active ORDER BY id LIMIT 1)) AS id"
)


async def entity_for_form(brand: str, country: str) -> int | None:
    """The entity a lead from the public form (no source, no caller's entity) goes to: the entity rule for its
    brand and country, else the first active entity. The form shows that entity's privacy notice."""
    rows = await fetch(
        f"SELECT coalesce({entity_rule_sql('$1', '$2')}, "  # noqa: S608
        "(SELECT id FROM legal_entity WHERE active ORDER BY id LIMIT 1)) AS id",
        (brand or "")[:40],
        (country or "").upper()[:2],
    )
    return rows[0]["id"]


async def entities_by_rules(pairs: Iterable[tuple[str, str]], default: int) -> dict[tuple[str, str], int]:
    """The entity of each (brand, country) by the entity rules, else `default`, in one query."""
    distinct = sorted(set(pairs))
    rows = await fetch(
        f"SELECT p.brand, p.country, coalesce({entity_rule_sql('p.brand', 'p.country')}, $3) AS entity_id "  # noqa: S608
        "FROM unnest($1::text[], $2::text[]) AS p(brand, country)",
        [b for b, _ in distinct],
        [c for _, c in distinct],
        default,
    )
    return {(r["brand"], r["country"]): r["entity_id"] for r in rows}


def _context(row) -> LeadContext:
    sets = {s["kind"]: s for s in json.loads(row["rule_sets"] or "[]")}
    manager = row["ib"].strip("()") if row["ib"] is not None else None
    return LeadContext(
        row["entity_code"] or "",
        row["returning_owner"],
        row["ib"] is not None,
        int(manager) if manager else None,
        sets.get("scoring"),
        sets.get("routing"),
    )


async def lead_context(
    entity_id: int, email_key: str, phone: str, ib_code: str, lead_id: int | None = None
) -> LeadContext:
    row = (
        await fetch(
            _CONTEXT.format(entity=_KNOWN_ENTITY, extra=""), entity_id, email_key, phone, lead_id, ib_code
        )
    )[0]
    return _context(row)


@dataclass
class IntakeContext:
    entity_id: int
    context: LeadContext
    duplicates: list[dict]
    new_id: int  # drawn from the lead id sequence: the lead is routed before it is saved
    existing_id: int | None  # the lead this source already sent under this external id


async def intake_context(lead: CleanLead, entity_id: int | None, source_id: int | None) -> IntakeContext:
    """For a lead about to be saved, in one round trip: its entity (by the entity rules, else `entity_id`),
    its routing context there, the leads it likely duplicates (see duplicate_evidence.py), an id for it, and
    the lead this source already sent under the same external id, if any."""
    evidence_sql, evidence_args = duplicates_sql(
        lead.email_key, lead.phone, lead.last_name, lead.date_of_birth, lead.device_id, None, first_param=10
    )
    extra = (
        ",\n       nextval(pg_get_serial_sequence('lead', 'id')) AS new_id,"
        "\n       (SELECT id FROM lead WHERE source_id = $8 AND external_id = $9) AS existing_id"
    )
    if evidence_sql:
        extra += f",\n       (SELECT json_agg(d) FROM ({evidence_sql}) d) AS duplicates"  # noqa: S608 (placeholders only)
    rows = await fetch(
        _CONTEXT.format(entity=_RULED_ENTITY, extra=extra),
        entity_id,
        lead.email_key,
        lead.phone,
        None,
        lead.ib_code,
        lead.brand,
        lead.country,
        source_id,
        lead.external_id,
        *evidence_args,
    )
    row = rows[0]
    if row["entity_id"] is None:
        raise ValidationFailed("No legal entity can take this lead")
    found = json.loads(row["duplicates"] or "[]") if evidence_sql else []
    return IntakeContext(
        row["entity_id"],
        _context(row),
        [scored_duplicate(d["id"], d["reasons"]) for d in found],
        row["new_id"],
        row["existing_id"],
    )


def score_for(lead: dict, ctx: LeadContext) -> tuple[int, list[dict]]:
    facts = facts_for(
        lead,
        entity_code=ctx.entity_code,
        returning=ctx.returning_owner is not None,
        ib_referred=ctx.ib_referred,
    )
    total, contributions = rules.score(((ctx.scoring or {}).get("rules") or {}).get("rules", []), facts)
    return total, [{"rule": c.rule, "points": c.points} for c in contributions]


def activity_sql(
    *, lead: str, kind: str, author_id: str, author_label: str, body: str, data: str, source: str = ""
) -> str:
    """The one definition of how a timeline entry is written, as an INSERT ... SELECT of SQL expressions (read
    `FROM source`), for `add_activity` and for the statements that write entries with their change (intake,
    routing, CSV imports)."""
    return (
        f"INSERT INTO lead_activity (lead, kind, author_id, author_label, body, data, created_at) "  # noqa: S608
        f"SELECT {lead}, {kind}, {author_id}, {author_label}, {body}, {data}, now() {source}"
    )


_ACTIVITY = activity_sql(lead="$1", kind="$2", author_id="$3", author_label="$4", body="$5", data="$6::jsonb")


async def add_activity(
    lead_id: int, actor: Actor, kind: str, body: str = "", data: dict | None = None
) -> None:
    await current_connection().execute(
        _ACTIVITY, lead_id, kind, actor.user_id, actor.label, body, json.dumps(data or {}, default=str)
    )


_LEAD = "SELECT * FROM lead WHERE reference = $1"
_LOCKED_LEAD = _LEAD + " FOR UPDATE"


async def lead_for(actor: Actor, reference: str, *, lock: bool = False) -> dict:
    """The lead by its reference if the actor may see it (`may_see`), else NotFound; `lock` for a change."""
    rows = await fetch(_LOCKED_LEAD if lock else _LEAD, reference)
    if not rows or not may_see(actor, dict(rows[0])):
        raise NotFound("Lead")
    return dict(rows[0])


async def locked_lead(
    actor: Actor, reference: str, permission: Permission = Permission.LEADS_LEAD_WORK
) -> dict:
    """A lead the actor may work, locked for the change (not one merged into another)."""
    row = await lead_for(actor, reference, lock=True)
    if not actor.can(permission, row["entity_id"]):
        raise PermissionDenied("You cannot work leads in this entity")
    if row["merged_into_id"]:
        raise Conflict("This lead was merged into another; work on that one")
    return row


def may_see(actor: Actor, lead: dict) -> bool:
    """Agents see the leads they own; staff with leads:team:view see every lead of their entities."""
    if actor.is_system:
        return True
    if not sees(actor, Permission.LEADS_LEAD_VIEW, lead["entity_id"]):
        return False
    return lead["owner_id"] == actor.user_id or actor.can(Permission.LEADS_TEAM_VIEW, lead["entity_id"])
