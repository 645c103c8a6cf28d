"""Working a lead: the pipeline, notes, calls (by hand or from the dialer), signals that rescore it, the
agent's presence, and the reasoned reveal of contact data."""

from __future__ import annotations

import datetime as dt
import json

from crm.core.audit.service import record_audit
from crm.core.cases import work as case_work
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.events.service import emit
from crm.core.permissions import Permission
from crm.leads.context import _now, add_activity, lead_context, lead_for, locked_lead, score_for
from crm.leads.tables import LOST_REASONS, PIPELINE, LeadStatus
from crm.leads.tags import LeadsTag


async def _first_contact(actor: Actor, lead: dict, how: str) -> None:
    """The first contact stops the SLA clock: the follow-up case is resolved as done."""
    if lead["first_contact_at"] is not None:
        return
    await current_connection().execute("UPDATE lead SET first_contact_at = now() WHERE id = $1", lead["id"])
    lead["first_contact_at"] = _now()
    if lead["case_id"]:
        case = await current_connection().fetchrow(
            "SELECT reference, status FROM work_case WHERE id = $1", lead["case_id"]
        )
        if case and case["status"] in ("open", "in_progress", "waiting"):
            await case_work.set_status(
                Actor.system("lead_first_contact"),
                case["reference"],
                "resolved",
                resolution="done",
                reason=f"first contact: {how}",
            )


async def set_status(
    actor: Actor, reference: str, status: str, *, lost_reason: str = "", note: str = ""
) -> dict:
    """Move a lead along the pipeline (new → contacted → interested → registered → KYC → funded), or lose it
    with a reason. Any move off "new" counts as the first contact."""
    if status not in set(LeadStatus):
        raise ValidationFailed("Unknown status", field_errors={"status": "Choose a status."})
    if status == LeadStatus.LOST and lost_reason not in LOST_REASONS:
        raise ValidationFailed("Why was it lost?", field_errors={"lost_reason": "Choose a reason."})
    async with transaction():
        lead = await locked_lead(actor, reference)
        if lead["status"] == status:
            return lead
        if lead["status"] in (LeadStatus.FUNDED, LeadStatus.LOST) and status != LeadStatus.NEW:
            raise Conflict(f"This lead is {lead['status']}; reopen it first")
        if (
            status in PIPELINE
            and lead["status"] in PIPELINE
            and PIPELINE.index(status) < PIPELINE.index(lead["status"])
            and status != LeadStatus.NEW
        ):
            raise ValidationFailed(
                "A lead does not move backwards", field_errors={"status": "Choose a later stage."}
            )
        await current_connection().execute(
            "UPDATE lead SET status = $2, lost_reason = $3, updated_at = now() WHERE id = $1",
            lead["id"],
            status,
            lost_reason if status == LeadStatus.LOST else "",
        )
        if status != LeadStatus.NEW:
            await _first_contact(actor, lead, f"status {status}")
        await add_activity(
            lead["id"],
            actor,
            "status",
            note.strip()[:2000],
            {"from": lead["status"], "to": status, "lost_reason": lost_reason},
        )
        await record_audit(
            actor,
            LeadsTag.LEAD_STATUS,
            target_type="lead",
            target_id=reference,
            entity_id=lead["entity_id"],
            before={"status": lead["status"]},
            after={"status": status, "lost_reason": lost_reason},
            reason=note.strip() or None,
        )
        await emit(
            actor,
            "lead.updated",
            entity_id=lead["entity_id"],
            subject_type="lead",
            subject_id=reference,
            payload={
                "lead_id": lead["id"],
                "owner_id": lead["owner_id"],
                "change": "status",
                "status": status,
            },
        )
        lead["status"] = status
    return lead


async def add_note(actor: Actor, reference: str, body: str) -> None:
    body = body.strip()
    if not body:
        raise ValidationFailed("Write something", field_errors={"body": "The note is empty."})
    async with transaction():
        lead = await locked_lead(actor, reference)
        await add_activity(lead["id"], actor, "note", body[:10_000])
        await current_connection().execute("UPDATE lead SET updated_at = now() WHERE id = $1", lead["id"])
        await emit(
            actor,
            "lead.updated",
            entity_id=lead["entity_id"],
            subject_type="lead",
            subject_id=reference,
            payload={"lead_id": lead["id"], "owner_id": lead["owner_id"], "change": "note"},
        )


CALL_OUTCOMES = ("answered", "no_answer", "busy", "voicemail", "failed", "disconnected")


async def record_call(
    actor: Actor,
    lead: dict,
    *,
    agent_id: int | None,
    provider: str,
    external_id: str | None,
    started_at: dt.datetime,
    duration_s: int,
    outcome: str,
    direction: str = "outbound",
    disposition: str = "",
    recording_ref: str = "",
) -> tuple[int, bool]:
    """Store one call in the caller's transaction (idempotent per provider call id); an answered call is the
    first contact. Returns (call id, created)."""
    conn = current_connection()
    if outcome not in CALL_OUTCOMES:
        raise ValidationFailed(
            "Unknown call outcome", field_errors={"outcome": f"One of: {', '.join(CALL_OUTCOMES)}."}
        )
    if not 0 <= duration_s <= 86_400:
        raise ValidationFailed("Implausible duration", field_errors={"duration_s": "0 to 86,400 seconds."})
    if started_at.tzinfo is None:
        raise ValidationFailed(
            "Give the start time with its time zone", field_errors={"started_at": "e.g. 2026-11-23T10:00:00Z"}
        )
    if external_id:
        existing = await conn.fetchval(
            "SELECT id FROM call_record WHERE provider = $1 AND external_id = $2", provider, external_id
        )
        if existing:
            return existing, False
    call_id = await conn.fetchval(
        "INSERT INTO call_record (lead, agent_id, provider, external_id, direction, started_at, duration_s, "
        "outcome, "
        "disposition, recording_ref, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now()) "
        "RETURNING id",
        lead["id"],
        agent_id,
        provider,
        external_id,
        direction[:10],
        started_at.astimezone(dt.UTC),
        duration_s,
        outcome,
        disposition[:60],
        recording_ref[:300],
    )
    minutes, seconds = divmod(duration_s, 60)
    await add_activity(
        lead["id"],
        actor,
        "call",
        disposition,
        {
            "call_id": call_id,
            "agent_id": agent_id,
            "provider": provider,
            "outcome": outcome,
            "direction": direction,
            "duration": f"{minutes}:{seconds:02d}",
            "started_at": started_at.isoformat(),
            "recording": recording_ref,
        },
    )
    if outcome == "answered":
        await _first_contact(actor, lead, f"{direction} call answered")
    await emit(
        actor,
        "lead.call_logged",
        entity_id=lead["entity_id"],
        subject_type="lead",
        subject_id=lead["reference"],
        payload={
            "lead_id": lead["id"],
            "call_id": call_id,
            "agent_id": agent_id,
            "outcome": outcome,
            "duration_s": duration_s,
            "owner_id": lead["owner_id"],
        },
    )
    return call_id, True


async def log_call(
    actor: Actor,
    reference: str,
    *,
    outcome: str,
    duration_s: int,
    started_at: dt.datetime,
    note: str = "",
    direction: str = "outbound",
) -> None:
    """An agent logs a call by hand."""
    async with transaction():
        lead = await locked_lead(actor, reference)
        await record_call(
            actor,
            lead,
            agent_id=actor.user_id,
            provider="manual",
            external_id=None,
            started_at=started_at,
            duration_s=duration_s,
            outcome=outcome,
            direction=direction,
            disposition=note.strip(),
        )
        await record_audit(
            actor,
            LeadsTag.CALL_LOG,
            target_type="lead",
            target_id=reference,
            entity_id=lead["entity_id"],
            after={"outcome": outcome, "duration_s": duration_s},
        )


async def record_signals(
    actor: Actor, reference: str, signals: dict, *, entity_id: int | None = None
) -> dict:
    """Later facts about a lead (KYC started, demo sessions ...) that scoring reads; the score is recomputed.
    `entity_id` confines a sender (an intake source) to the leads of its own entity."""
    allowed = {"kyc_started": bool, "demo_sessions": int}
    clean_signals = {}
    for name, value in signals.items():
        if name not in allowed:
            raise ValidationFailed(
                "Unknown signal", field_errors={name: f"Known signals: {', '.join(allowed)}."}
            )
        try:
            clean_signals[name] = allowed[name](value)
        except (TypeError, ValueError):
            raise ValidationFailed("Bad signal value", field_errors={name: "Wrong type."}) from None
    async with transaction():
        row = await current_connection().fetchrow(
            "SELECT * FROM lead WHERE reference = $1 FOR UPDATE", reference
        )
        if (
            row is None
            or (not actor.is_system and not actor.can(Permission.LEADS_LEAD_VIEW, row["entity_id"]))
            or (entity_id is not None and row["entity_id"] != entity_id)
        ):
            raise NotFound("Lead")
        lead = dict(row)
        merged = {
            **(json.loads(lead["signals"]) if isinstance(lead["signals"], str) else lead["signals"]),
            **clean_signals,
        }
        await current_connection().execute(
            "UPDATE lead SET signals = $2::jsonb, updated_at = now() WHERE id = $1",
            lead["id"],
            json.dumps(merged),
        )
        lead["signals"] = merged
        before = lead["score"]
        ctx = await lead_context(
            lead["entity_id"], lead["email_key"], lead["phone"], lead["ib_code"], lead["id"]
        )
        score, detail = score_for(lead, ctx)
        await current_connection().execute(
            "UPDATE lead SET score = $2, score_detail = $3::jsonb WHERE id = $1",
            lead["id"],
            score,
            json.dumps(detail),
        )
        await add_activity(
            lead["id"],
            actor,
            "score",
            f"Score {before} → {score}",
            {"signals": clean_signals, "detail": detail},
        )
        await emit(
            actor,
            "lead.updated",
            entity_id=lead["entity_id"],
            subject_type="lead",
            subject_id=reference,
            payload={"lead_id": lead["id"], "owner_id": lead["owner_id"], "change": "score", "score": score},
        )
    return {"reference": reference, "score": score, "detail": detail}


async def set_presence(actor: Actor, status: str) -> None:
    if status not in ("available", "away", "offline"):
        raise ValidationFailed("Unknown presence", field_errors={"presence": "available, away or offline."})
    async with transaction():
        await current_connection().execute(
            "INSERT INTO agent_presence (agent_id, status, updated_at) VALUES ($1, $2, now()) "
            "ON CONFLICT (agent_id) DO UPDATE SET status = excluded.status, updated_at = now()",
            actor.user_id,
            status,
        )
        await emit(
            actor,
            "agent.presence",
            subject_type="staff_user",
            subject_id=actor.user_id,
            payload={"status": status},
        )


async def presence_of(user_id: int) -> str:
    rows = await fetch("SELECT status FROM agent_presence WHERE agent_id = $1", user_id)
    return rows[0]["status"] if rows else "offline"


async def reveal_contact(actor: Actor, reference: str, field: str, reason: str, minutes: int) -> None:
    """Show a lead's e-mail or phone for a few minutes: the reason is required and audited, reveals are
    counted."""
    if field not in ("email", "phone"):
        raise ValidationFailed("Unknown field", field_errors={"field": "E-mail or phone."})
    if len(reason.strip()) < 5:
        raise ValidationFailed(
            "A reason is required", field_errors={"reason": "Say why you need it (e.g. the call)."}
        )
    async with transaction():
        row = await lead_for(actor, reference)
        actor.require(Permission.CLIENTS_PII_REVEAL, row["entity_id"])
        until = _now() + dt.timedelta(minutes=minutes)
        await current_connection().execute(
            'INSERT INTO pii_reveal ("user", client, lead_id, field, reason, created_at, expires_at) '
            "VALUES ($1, NULL, $2, $3, $4, now(), $5)",
            actor.user_id,
            row["id"],
            field,
            reason.strip(),
            until,
        )
        await record_audit(
            actor,
            LeadsTag.PII_REVEAL,
            target_type="lead",
            target_id=reference,
            entity_id=row["entity_id"],
            after={"field": field, "until": until},
            reason=reason.strip(),
        )
