"""Intake: every channel (form, REST, webhooks, CSV, staff) ends in `intake`, which validates and normalises,
then in one transaction saves the lead with its score, records duplicate candidates, routes it (assignment.py)
and writes one audit row naming the lead and its follow-up case."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from dataclasses import dataclass

from crm.core.audit.service import record_audit
from crm.core.cases import service as cases
from crm.core.context import Actor
from crm.core.db import current_connection, engine, transaction
from crm.core.errors import ValidationFailed
from crm.core.events.service import CHANNEL as EVENTS_CHANNEL
from crm.core.events.service import subscribers_of
from crm.leads.assignment import route_lead
from crm.leads.context import entity_for, lead_context, score_for
from crm.leads.duplicates import find_duplicates
from crm.leads.normalise import CleanLead, clean
from crm.leads.routing import Decision

# ---- intake -------------------------------------------------------------------------------------------------

@dataclass
class IntakeResult:
    lead: dict
    created: bool
    decision: Decision | None = None


# One round trip: the lead (its reference from its id; nothing if the source already sent this external id), its
# first timeline entry, and the `lead.created` event with its deliveries (the outbox, as `emit` writes it).
_INSERT = """
WITH id AS (SELECT nextval(pg_get_serial_sequence('lead', 'id')) AS id),
saved AS (
    INSERT INTO lead (id, reference, entity_id, brand, first_name, last_name, email, email_key, phone, country, language,
                      date_of_birth, source, campaign, utm, ib_code, device_id, ip, channel, source_id, external_id, status,
                      lost_reason, score, score_detail, signals, vip, import_id, created_at, updated_at)
    SELECT id.id, 'LD-' || lpad(id.id::text, 6, '0'), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14,
           $15, $16, $17, $18, $19, 'new', '', $20, $21::jsonb, '{}'::jsonb, false, $22, now(), now()
    FROM id
    ON CONFLICT (source_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
    RETURNING *
), timeline AS (
    INSERT INTO lead_activity (lead, kind, author_id, author_label, body, data, created_at)
    SELECT saved.id, 'intake', $23, $24, $25, jsonb_build_object('channel', $17::text, 'source', saved.source, 'score', $20::int),
           now() FROM saved
), event AS (
    INSERT INTO domain_event (name, entity_id, subject_type, subject_id, payload, actor_id, occurred_at)
    SELECT 'lead.created', saved.entity_id, 'lead', saved.reference,
           jsonb_build_object('lead_id', saved.id, 'channel', $17::text, 'score', $20::int), $23, now() FROM saved
    RETURNING id
), deliveries AS (
    INSERT INTO event_delivery (event, subscriber, status, attempts, next_attempt_at, last_error)
    SELECT event.id, target, 'pending', 0, now(), '' FROM event, unnest($26::text[]) AS target
)
SELECT saved.*, (SELECT pg_notify($27, event.id::text) FROM event) IS NULL AS quiet FROM saved
"""


_slots: dict[int, asyncio.Semaphore] = {}


def _intake_slots() -> asyncio.Semaphore:
    """Admission control: at most CRM_INTAKE_CONCURRENCY intake transactions per process at once (default 4).
    Past the machine's capacity, more concurrent transactions only queue on the same row locks while holding
    them longer; waiting here, before any lock is taken, keeps throughput at its peak under a burst."""
    loop = id(asyncio.get_running_loop())
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(int(os.environ.get("CRM_INTAKE_CONCURRENCY", "4")))
    return _slots[loop]


async def intake(actor: Actor, raw: dict, *, channel: str, source: dict | None = None, ip: str = "",
                 fallback_entity_id: int | None = None, import_id: int | None = None, route: bool = True) -> IntakeResult:
    """Take in one lead from any channel: validate and normalise (ValidationFailed lists every bad field), save,
    score, look for duplicates and route. Idempotent per source on the sender's `external_id`."""
    lead_in, errors = clean(raw)
    if errors:
        raise ValidationFailed("The lead has invalid fields", field_errors=errors)
    if not lead_in.source and source:
        lead_in.source = source["source_label"] or ""
    if engine().current_transaction.get() is not None:  # inside a caller's transaction: no admission queue
        return await _intake(actor, lead_in, channel, source, ip, fallback_entity_id, import_id, route)
    async with _intake_slots():
        return await _intake(actor, lead_in, channel, source, ip, fallback_entity_id, import_id, route)


async def _intake(actor: Actor, lead_in: CleanLead, channel: str, source: dict | None, ip: str,
                  fallback_entity_id: int | None, import_id: int | None, route: bool) -> IntakeResult:
    async with transaction():
        conn = current_connection()
        entity_id = await entity_for(lead_in, (source or {}).get("entity_id"), fallback_entity_id)
        ctx = await lead_context(entity_id, lead_in.email_key, lead_in.phone, lead_in.ib_code)
        draft = dataclasses.asdict(lead_in) | {"signals": {}, "score": 0}
        score, detail = score_for(draft, ctx)
        row = await conn.fetchrow(
            _INSERT, entity_id, lead_in.brand, lead_in.first_name, lead_in.last_name, lead_in.email, lead_in.email_key,
            lead_in.phone, lead_in.country, lead_in.language, lead_in.date_of_birth, lead_in.source, lead_in.campaign,
            json.dumps(lead_in.utm), lead_in.ib_code, lead_in.device_id, ip[:45], channel,
            (source or {}).get("id"), lead_in.external_id, score, json.dumps(detail), import_id, actor.user_id,
            actor.label, f"Received by {channel}" + (f" from {source['name']}" if source else ""),
            subscribers_of("lead.created"), EVENTS_CHANNEL)
        if row is None:  # this source sent this lead before: answer with the one we have
            existing = await conn.fetchrow("SELECT * FROM lead WHERE source_id = $1 AND external_id = $2",
                                           source["id"], lead_in.external_id)
            return IntakeResult(dict(existing), created=False)
        lead = dict(row)
        lead.pop("quiet", None)
        duplicates = await find_duplicates(lead)
        if duplicates:
            await conn.executemany(
                "INSERT INTO lead_duplicate (lead, other, score, reasons, status, created_at) "
                "VALUES ($1, $2, $3, $4::jsonb, 'open', now())",
                [(lead["id"], d["other_id"], d["score"], json.dumps(d["reasons"])) for d in duplicates])
        decision = None
        if route:
            decision = await route_lead(actor, lead, trigger="import" if import_id else "intake", ctx=ctx)
        # One audit row for the whole intake, written last: it names the follow-up case, and the chain's lock
        # (which serialises every audited transaction) is held only from here to the commit.
        case_ref = cases.reference_for(lead["case_id"]) if lead.get("case_id") else None
        await record_audit(actor, "leads:lead:create", target_type="lead", target_id=lead["reference"],
                           entity_id=entity_id, case_id=case_ref,
                           after={"channel": channel, "source": lead["source"], "country": lead["country"],
                                  "score": score, "owner_id": decision.agent_id if decision else None,
                                  "pool_id": decision.pool_id if decision else None, "follow_up_case": case_ref,
                                  "rule": decision.matched if decision else None, "external_id": lead_in.external_id})
    return IntakeResult(lead, created=True, decision=decision)
