"""Intake: every channel (form, REST, webhooks, CSV, staff) ends in `intake`, which validates and normalises,
then in one transaction saves the lead with its score and duplicate candidates, routes it (assignment.py) and
writes one audit row naming the lead and its follow-up case. If routing fails, that transaction is rolled back
and the lead is saved again without it: unassigned, with an alert (never lost)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from crm.core.audit.service import record_audit
from crm.core.cases import service as cases
from crm.core.context import Actor
from crm.core.db import current_connection, engine, transaction
from crm.core.errors import ValidationFailed
from crm.core.events.service import CHANNEL as EVENTS_CHANNEL
from crm.core.events.service import outbox_sql, subscribers_of
from crm.core.permissions import Permission
from crm.leads.assignment import decision_record, record_routing_failure, route_lead, route_new_lead
from crm.leads.context import activity_sql, intake_context, reference_for, score_for
from crm.leads.normalise import CleanLead, clean
from crm.leads.routing import Decision
from crm.leads.tags import LeadsTag

# ---- intake ------------------------------------------------------------------------------------------------


OnSaved = Callable[[dict], Awaitable[dict | None]]


@dataclass
class IntakeResult:
    lead: dict
    created: bool
    decision: Decision | None = None


# One round trip, after routing: the lead under the id `intake_context` drew (nothing if the source already
# sent this external id), with its owner, pool and follow-up case; its first timeline entry; the
# `lead.created` event with its deliveries (the outbox, as `emit` writes it); the likely duplicates; and the
# routing decision with its timeline entry and the `lead.routed` event (when $36, the trigger, is not NULL; it
# reads `event` too, so it is written after lead.created and subscribers see the two in this order). Saving
# the lead once, routed, spares an UPDATE of a row with many indexes.
_INSERT = f"""
WITH saved AS (
    INSERT INTO lead (id, reference, entity_id, brand, first_name, last_name, email, email_key, phone,
        country, language,
                      date_of_birth, source, campaign, utm, ib_code, device_id, ip, channel, source_id,
                      external_id, status,
                      lost_reason, score, score_detail, signals, vip, import_id, owner_id, pool_id, routed_at,
                      case_id,
                      created_at, updated_at)
    VALUES ($31, 'LD-' || lpad($31::int::text, 6, '0'), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
        $13::jsonb, $14,
            $15, $16, $17, $18, $19, 'new', '', $20, $21::jsonb, '{{}}'::jsonb, false, $22, $32, $33, $34,
            $35, now(), now())
    ON CONFLICT (source_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
    RETURNING *
), timeline AS (
    {
    activity_sql(
        lead="saved.id",
        kind="'intake'",
        author_id="$23::int",
        author_label="$24::text",
        body="$25::text",
        data="jsonb_build_object('channel', $17::text, 'source', saved.source, 'score', $20::int)",
        source="FROM saved",
    )
}
), {
    outbox_sql(
        "event",
        name="'lead.created'",
        entity="saved.entity_id",
        subject_type="'lead'",
        subject_id="saved.reference",
        actor="$23::int",
        targets="$26",
        source="FROM saved",
        payload="jsonb_build_object('lead_id', saved.id, 'channel', $17::text, 'score', $20::int)",
    )
},
duplicates AS (
    INSERT INTO lead_duplicate (lead, other, score, reasons, status, created_at)
    SELECT saved.id, d.other, d.score, d.reasons, 'open', now()
    FROM saved, unnest($28::int[], $29::real[], $30::jsonb[]) AS d(other, score, reasons)
), decision AS (
    INSERT INTO routing_decision (lead, trigger, rule_set_id, rule_set_version, matched, pool_id, agent_id,
        candidates,
                                  explanation, duration_ms, created_at)
    SELECT saved.id, $36::text, $37, $38, $39, $33, $32, $40::jsonb, $41, $42, now() FROM saved
        WHERE $36::text IS NOT NULL
), routed AS (
    {
    activity_sql(
        lead="saved.id",
        kind="'routing'",
        author_id="$23::int",
        author_label="$24::text",
        body="$41::text",
        data="$43::jsonb",
        source="FROM saved WHERE $36::text IS NOT NULL",
    )
}
), {
    outbox_sql(
        "routed_event",
        name="'lead.routed'",
        entity="saved.entity_id",
        subject_type="'lead'",
        subject_id="saved.reference",
        actor="$23::int",
        targets="$44",
        source="FROM saved, event WHERE $36::text IS NOT NULL",
        payload="jsonb_build_object('lead_id', saved.id, 'agent_id', saved.owner_id, "
        "'pool_id', saved.pool_id, 'previous_owner_id', NULL, 'trigger', $36::text)",
    )
}
SELECT saved.*, (SELECT pg_notify($27, event.id::text) FROM event) IS NULL AS quiet FROM saved
"""  # noqa: S608 (SQL fragments of the owning modules)


_slots: dict[int, asyncio.Semaphore] = {}


def _intake_slots() -> asyncio.Semaphore:
    """Admission control: at most CRM_INTAKE_CONCURRENCY intake transactions per process at once (default 4).
    Past the machine's capacity, more concurrent transactions only queue on the same row locks while holding
    them longer; waiting here, before any lock is taken, keeps throughput at its peak under a burst."""
    loop = id(asyncio.get_running_loop())
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(int(os.environ.get("CRM_INTAKE_CONCURRENCY", "4")))
    return _slots[loop]


async def intake(
    actor: Actor,
    raw: dict,
    *,
    channel: str,
    source: dict | None = None,
    ip: str = "",
    fallback_entity_id: int | None = None,
    import_id: int | None = None,
    route: bool = True,
    on_saved: OnSaved | None = None,
) -> IntakeResult:
    """Take in one lead from any channel: validate and normalise (ValidationFailed lists every bad field),
    save, score, look for duplicates and route. Idempotent per source on the sender's `external_id`.
    `on_saved(lead)` runs in the intake's transaction once a new lead is saved (the public form records the
    consents given with it); what it returns is noted in the lead's audit row, and what it raises undoes the
    whole intake."""
    lead_in, errors = clean(raw)
    if errors:
        raise ValidationFailed("The lead has invalid fields", field_errors=errors)
    if not lead_in.source and source:
        lead_in.source = source["source_label"] or ""
    args = (actor, lead_in, channel, source, ip, fallback_entity_id, import_id, route, on_saved)
    if engine().current_transaction.get() is not None:  # inside a caller's transaction: no admission queue
        return await _intake(*args, isolated=True)
    async with _intake_slots():
        try:
            return await _intake(*args)
        except _RoutingFailed as failure:  # the lead is saved again, unassigned, with an alert
            return await _intake(*args, failure=failure.__cause__)
        except _AlreadyReceived as replay:  # the same lead from the same source, at the same moment
            return IntakeResult(replay.lead, created=False)


class _RoutingFailed(Exception):
    """Raised (from routing's error) to roll back an intake whose routing failed."""


class _AlreadyReceived(Exception):
    """Raised to roll back an intake that lost the race to save the same external id."""

    def __init__(self, lead: dict):
        super().__init__(lead["reference"])
        self.lead = lead


async def _intake(
    actor: Actor,
    lead_in: CleanLead,
    channel: str,
    source: dict | None,
    ip: str,
    fallback_entity_id: int | None,
    import_id: int | None,
    route: bool,
    on_saved: OnSaved | None,
    *,
    isolated: bool = False,
    failure: BaseException | None = None,
) -> IntakeResult:
    """One transaction: read the context, route the lead before saving it, then save it routed in one
    statement. Routing runs in the transaction directly (no savepoint); if it fails, the transaction is rolled
    back and this runs again with `failure`, saving the lead unrouted and recording the failure. `isolated`
    (inside a caller's transaction, which cannot be retried) saves first and routes in a savepoint."""
    async with transaction():
        conn = current_connection()
        source_id = (source or {}).get("id")
        known = await intake_context(
            lead_in, (source or {}).get("entity_id") or fallback_entity_id, source_id
        )
        if known.existing_id is not None:  # this source sent this lead before: answer with the one we have
            return IntakeResult(
                dict(await conn.fetchrow("SELECT * FROM lead WHERE id = $1", known.existing_id)),
                created=False,
            )
        entity_id, ctx = known.entity_id, known.context
        draft = vars(lead_in) | {
            "id": known.new_id,
            "reference": reference_for(known.new_id),
            "entity_id": entity_id,
            "email_key": lead_in.email_key,
            "signals": {},
            "score": 0,
            "owner_id": None,
            "pool_id": None,
            "routed_at": None,
            "case_id": None,
        }  # vars: asdict deep-copies
        score, detail = score_for(draft, ctx)
        draft["score"] = score
        trigger = "import" if import_id else "intake"
        decision = None
        if route and failure is None and not isolated:
            try:
                decision = await route_new_lead(actor, draft, trigger=trigger, ctx=ctx)
            except Exception as exc:
                raise _RoutingFailed from exc
        record = decision_record(actor, decision, trigger, None) if decision else (None,) * 8
        row = await conn.fetchrow(
            _INSERT,
            entity_id,
            lead_in.brand,
            lead_in.first_name,
            lead_in.last_name,
            lead_in.email,
            lead_in.email_key,
            lead_in.phone,
            lead_in.country,
            lead_in.language,
            lead_in.date_of_birth,
            lead_in.source,
            lead_in.campaign,
            json.dumps(lead_in.utm),
            lead_in.ib_code,
            lead_in.device_id,
            ip[:45],
            channel,
            source_id,
            lead_in.external_id,
            score,
            json.dumps(detail),
            import_id,
            actor.user_id,
            actor.label,
            f"Received by {channel}" + (f" from {source['name']}" if source else ""),
            subscribers_of("lead.created"),
            EVENTS_CHANNEL,
            [d["other_id"] for d in known.duplicates],
            [d["score"] for d in known.duplicates],
            [json.dumps(d["reasons"]) for d in known.duplicates],
            known.new_id,
            draft["owner_id"],
            draft["pool_id"],
            draft["routed_at"],
            draft["case_id"],
            *record,
            subscribers_of("lead.routed"),
        )
        if row is None:  # saved by a concurrent request since we looked: answer with theirs
            existing = dict(
                await conn.fetchrow(
                    "SELECT * FROM lead WHERE source_id = $1 AND external_id = $2",
                    source_id,
                    lead_in.external_id,
                )
            )
            if decision is None:  # nothing of ours to undo (the caller's transaction goes on)
                return IntakeResult(existing, created=False)
            raise _AlreadyReceived(existing)  # undo our routing and case
        lead = dict(row)
        lead.pop("quiet", None)
        if failure is not None:
            decision = await record_routing_failure(actor, lead, trigger, failure)
        elif route and isolated:
            decision = await route_lead(actor, lead, trigger=trigger, ctx=ctx)
        noted = (await on_saved(lead) or {}) if on_saved else {}
        # One audit row for the whole intake, written last: it names the follow-up case, and the chain's lock
        # (which serialises every audited transaction) is held only from here to the commit.
        case_ref = cases.reference_for(lead["case_id"]) if lead.get("case_id") else None
        await record_audit(
            actor,
            LeadsTag.LEAD_CREATE,
            target_type="lead",
            target_id=lead["reference"],
            entity_id=entity_id,
            case_id=case_ref,
            after={
                "channel": channel,
                "source": lead["source"],
                "country": lead["country"],
                "score": score,
                "owner_id": decision.agent_id if decision else None,
                "pool_id": decision.pool_id if decision else None,
                "follow_up_case": case_ref,
                "rule": decision.matched if decision else None,
                "external_id": lead_in.external_id,
            }
            | noted,
        )
    return IntakeResult(lead, created=True, decision=decision)


async def intake_by_hand(actor: Actor, form: dict, entity_id: int | None, *, ip: str = "") -> IntakeResult:
    """A lead entered by staff (a walk-in, a phone enquiry) into an entity where they work leads; routed like
    any."""
    if entity_id is None or not actor.can(Permission.LEADS_LEAD_WORK, entity_id):
        raise ValidationFailed("Choose an entity", field_errors={"entity": "Choose an entity you work in."})
    result = await intake(
        actor,
        {**form, "source": form.get("source") or "manual"},
        channel="manual",
        fallback_entity_id=entity_id,
        ip=ip,
    )
    if result.decision is not None:
        result.lead["owner_id"] = result.decision.agent_id
    return result
