"""Likely duplicates: scored on intake from indexed lookups, listed on the lead, merged by a team lead (both
histories kept) or dismissed."""

from __future__ import annotations

from crm.core.audit.service import record_audit
from crm.core.cases import work as case_work
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.events.service import emit
from crm.core.permissions import Permission
from crm.leads.context import add_activity, locked_lead, may_see
from crm.leads.duplicate_evidence import duplicates_sql, scored_duplicate
from crm.leads.tags import LeadsTag

# ---- duplicates --------------------------------------------------------------------------------------------


async def find_duplicates(lead: dict) -> list[dict]:
    sql, args = duplicates_sql(
        lead["email_key"],
        lead["phone"],
        lead["last_name"],
        lead["date_of_birth"],
        lead["device_id"],
        lead["id"],
    )
    if not sql:
        return []
    return [scored_duplicate(row["id"], row["reasons"]) for row in await fetch(sql, *args)]


MERGE_FILL = (
    "first_name",
    "last_name",
    "email",
    "email_key",
    "phone",
    "country",
    "language",
    "date_of_birth",
    "campaign",
    "ib_code",
    "device_id",
)


async def merge(actor: Actor, survivor_ref: str, other_ref: str, reason: str) -> dict:
    """Merge a duplicate into the surviving lead: the survivor keeps both histories (timeline, calls, routing
    decisions, breaches), takes the duplicate's values where its own are empty, and the duplicate is closed
    (its follow-up task resolved as a duplicate). Audited with both sides."""
    if survivor_ref == other_ref:
        raise ValidationFailed("Choose two different leads")
    if not reason.strip():
        raise ValidationFailed("Say why", field_errors={"reason": "A reason is required."})
    async with transaction():
        conn = current_connection()
        rows = await conn.fetch(
            "SELECT * FROM lead WHERE reference = ANY($1::text[]) ORDER BY id FOR UPDATE",
            [survivor_ref, other_ref],
        )
        by_ref = {r["reference"]: dict(r) for r in rows}
        if len(by_ref) != 2 or not all(may_see(actor, lead) for lead in by_ref.values()):
            raise NotFound("Lead")
        survivor, other = by_ref[survivor_ref], by_ref[other_ref]
        if survivor["entity_id"] != other["entity_id"]:
            raise ValidationFailed("Leads of different entities cannot be merged")
        if not actor.can(Permission.LEADS_TEAM_VIEW, survivor["entity_id"]) or not actor.can(
            Permission.LEADS_LEAD_WORK, survivor["entity_id"]
        ):
            raise PermissionDenied("Only team leads merge leads")
        if survivor["merged_into_id"] or other["merged_into_id"]:
            raise Conflict("One of these leads was already merged")
        filled = {k: other[k] for k in MERGE_FILL if not survivor[k] and other[k]}
        for column, value in filled.items():
            await conn.execute(f"UPDATE lead SET {column} = $2 WHERE id = $1", survivor["id"], value)  # noqa: S608 (fixed names)
        for table in ("lead_activity", "call_record", "routing_decision", "lead_sla_breach"):
            await conn.execute(f"UPDATE {table} SET lead = $2 WHERE lead = $1", other["id"], survivor["id"])  # noqa: S608
        await conn.execute(
            "UPDATE lead SET merged_into_id = $2, status = 'lost', lost_reason = 'duplicate', owner_id = "
            "NULL, "
            "updated_at = now() WHERE id = $1",
            other["id"],
            survivor["id"],
        )
        await conn.execute(
            "UPDATE lead_duplicate SET status = 'merged' WHERE (lead = $1 AND other = $2) OR (lead = $2 AND "
            "other = $1)",
            survivor["id"],
            other["id"],
        )
        if other["case_id"]:
            case = await conn.fetchrow(
                "SELECT reference, status FROM work_case WHERE id = $1", other["case_id"]
            )
            if case and case["status"] in ("open", "in_progress", "waiting"):
                await case_work.set_status(
                    Actor.system("lead_merge"),
                    case["reference"],
                    "resolved",
                    resolution="duplicate",
                    reason=f"merged into {survivor_ref}",
                )
        await add_activity(
            survivor["id"], actor, "merge", reason.strip(), {"merged": other_ref, "filled": sorted(filled)}
        )
        await record_audit(
            actor,
            LeadsTag.LEAD_MERGE,
            target_type="lead",
            target_id=survivor_ref,
            entity_id=survivor["entity_id"],
            before={
                "survivor": survivor_ref,
                "duplicate": other_ref,
                "duplicate_owner_id": other["owner_id"],
            },
            after={"merged_into": survivor_ref, "filled": sorted(filled)},
            reason=reason.strip(),
        )
        await emit(
            actor,
            "lead.updated",
            entity_id=survivor["entity_id"],
            subject_type="lead",
            subject_id=survivor_ref,
            payload={
                "lead_id": survivor["id"],
                "owner_id": survivor["owner_id"],
                "change": "merge",
                "previous_owner_id": other["owner_id"],
            },
        )
    return survivor


async def dismiss_duplicate(actor: Actor, reference: str, duplicate_id: int) -> None:
    async with transaction():
        lead = await locked_lead(actor, reference)
        await current_connection().execute(
            "UPDATE lead_duplicate SET status = 'dismissed' WHERE id = $1 AND (lead = $2 OR other = $2)",
            duplicate_id,
            lead["id"],
        )
        await add_activity(lead["id"], actor, "note", "Not a duplicate", {"duplicate_id": duplicate_id})
