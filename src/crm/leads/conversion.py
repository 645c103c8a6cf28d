"""A lead becomes a client: found by the e-mail address the person registers with, marked registered, and
linked both ways (the client keeps the lead's id; the lead's timeline names the client). Both histories
stay."""

from __future__ import annotations

from crm.core.audit.service import record_audit
from crm.core.context import Actor
from crm.core.db import current_connection, fetch
from crm.core.events.service import emit
from crm.leads.context import add_activity
from crm.leads.tables import PIPELINE, LeadStatus
from crm.leads.tags import LeadsTag


async def lead_for_registration(email: str) -> dict | None:
    """The most recent lead with this e-mail address that was not merged into another."""
    rows = await fetch(
        "SELECT id, reference, entity_id, owner_id, ib_code, brand, status FROM lead "
        "WHERE email_key = $1 AND merged_into_id IS NULL ORDER BY id DESC LIMIT 1",
        (email or "").strip().lower(),
    )
    return dict(rows[0]) if rows else None


async def mark_registered(actor: Actor, lead: dict, client_id: int, client_reference: str) -> None:
    """In the registration's transaction: the lead moves to "registered" (never backwards: a lead further on
    stays where it is), its timeline and the audit trail name the client."""
    moves = lead["status"] == LeadStatus.LOST or (
        lead["status"] in PIPELINE and PIPELINE.index(lead["status"]) < PIPELINE.index(LeadStatus.REGISTERED)
    )
    status = LeadStatus.REGISTERED if moves else lead["status"]
    await current_connection().execute(
        "UPDATE lead SET status = $2, lost_reason = CASE WHEN $3 THEN '' ELSE lost_reason END, "
        "updated_at = now() WHERE id = $1",
        lead["id"],
        status,
        moves,
    )
    await add_activity(
        lead["id"],
        actor,
        "registered",
        f"Registered in the client portal as client {client_reference}",
        {"client_id": client_id, "client": client_reference, "from": lead["status"], "to": status},
    )
    await record_audit(
        actor,
        LeadsTag.LEAD_STATUS,
        target_type="lead",
        target_id=lead["reference"],
        entity_id=lead["entity_id"],
        client_id=client_id,
        before={"status": lead["status"]},
        after={"status": status, "client": client_reference},
    )
    await emit(
        actor,
        "lead.updated",
        entity_id=lead["entity_id"],
        subject_type="lead",
        subject_id=lead["reference"],
        payload={"lead_id": lead["id"], "owner_id": lead["owner_id"], "change": "status", "status": status},
    )
