"""Leads: intake (every channel ends here), scoring, routing with its follow-up task and notifications, the
pipeline, notes and calls, SLA breaches and reassignment.

Intake runs in one transaction: the lead, its score, duplicate candidates, the routing decision, the follow-up
case assigned to the agent, the notification rows and the audit rows commit together, so a lead is never half
routed. Routing runs in a savepoint: if it fails, the lead is still saved, waits in the unassigned queue and
an alert case says so.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import os
from dataclasses import dataclass

from crm.core.audit.service import record_audit
from crm.core.cases import service as cases
from crm.core.cases.kinds import CaseKind, register_case_kind
from crm.core.context import Actor
from crm.core.db import current_connection, engine, fetch, transaction
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.events.service import CHANNEL as EVENTS_CHANNEL
from crm.core.events.service import emit, subscribers_of
from crm.core.notifications.service import notify
from crm.core.notifications.templates import TemplateSpec, register_template
from crm.core.permissions import Permission
from crm.leads import rules
from crm.leads.normalise import CleanLead, clean
from crm.leads.routing import Decision, decide
from crm.leads.tables import LOST_REASONS, OPEN_LEAD_STATUSES, PIPELINE, LeadStatus

log = logging.getLogger("crm.leads")


def reference_for(lead_id: int) -> str:
    return f"LD-{lead_id:06d}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---- registrations: the follow-up case kind and the notification wording --------------------------------

LEAD_ASSIGNED = register_template(TemplateSpec(
    "lead_assigned", "New lead assigned to you", "New lead {{ reference }}: call within {{ sla_minutes }} min",
    "{{ country }} · {{ source or 'direct' }} · score {{ score }}. Reason: {{ matched }}.",
    sample={"reference": "LD-000123", "sla_minutes": 5, "country": "ES", "source": "facebook", "score": 70,
            "matched": "LatAm Spanish"}))
LEAD_UNROUTED = register_template(TemplateSpec(
    "lead_unrouted", "Lead waiting with nobody to take it (to the team lead)",
    "{{ reference }} is waiting: nobody eligible", "{{ explanation }}",
    sample={"reference": "LD-000123", "explanation": "Pool LatAm: nobody eligible (3 members)."}))
LEAD_SLA_BREACH = register_template(TemplateSpec(
    "lead_sla_breach", "Lead follow-up past its SLA (to the team lead)",
    "{{ reference }}: {{ agent }} missed the {{ sla_minutes }}-minute SLA",
    "{% if reassigned_to %}Reassigned to {{ reassigned_to }}.{% else %}Nobody else is eligible: it waits in the queue.{% endif %} "
    "{{ agent }} has {{ breaches_today }} breach(es) today.",
    sample={"reference": "LD-000123", "agent": "Ana Agent", "sla_minutes": 5, "reassigned_to": "Bo Agent",
            "breaches_today": 2}))


async def _breached(actor: Actor, case: dict) -> None:
    await handle_sla_breach(actor, case)


LEAD_FOLLOWUP = register_case_kind(CaseKind("lead_followup", "Lead follow-up", 2, dt.timedelta(minutes=5), "sales",
                                            notify_assignee=False, on_breach=_breached))


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


# ---- duplicates ---------------------------------------------------------------------------------------------

DUPLICATE_WEIGHTS = {"email": 0.6, "phone": 0.5, "name_dob": 0.4, "device": 0.3}
# One indexed lookup per kind of evidence the lead has (an empty e-mail or missing birth date adds no branch, so
# every branch is an index scan on a selective key, whatever the table's size).
_DUPLICATE_BRANCHES = {
    "email": "SELECT id, 'email' AS reason FROM lead WHERE email_key = {0} AND id <> $1 AND merged_into_id IS NULL",
    "phone": "SELECT id, 'phone' AS reason FROM lead WHERE phone = {0} AND id <> $1 AND merged_into_id IS NULL",
    "name_dob": "SELECT id, 'name_dob' AS reason FROM lead WHERE lower(last_name) = {0} AND date_of_birth = {1} AND id <> $1 AND merged_into_id IS NULL",
    "device": "SELECT id, 'device' AS reason FROM lead WHERE device_id = {0} AND id <> $1 AND merged_into_id IS NULL",
}


def duplicate_score(reasons: list[str]) -> float:
    """Independent evidence combined: 1 − Π(1 − weight)."""
    remaining = 1.0
    for reason in reasons:
        remaining *= 1 - DUPLICATE_WEIGHTS[reason]
    return round(1 - remaining, 3)


async def find_duplicates(lead: dict) -> list[dict]:
    evidence = {"email": [lead["email_key"]], "phone": [lead["phone"]],
                "name_dob": [(lead["last_name"] or "").lower(), lead["date_of_birth"]], "device": [lead["device_id"]]}
    branches, args = [], [lead["id"]]
    for kind, values in evidence.items():
        if all(values):
            placeholders = [f"${len(args) + n + 1}" for n in range(len(values))]
            branches.append(_DUPLICATE_BRANCHES[kind].format(*placeholders))
            args += values
    if not branches:
        return []
    sql = (f"SELECT id, array_agg(reason) AS reasons FROM ({' UNION ALL '.join(branches)}) e "  # noqa: S608
           "GROUP BY id")
    rows = sorted(await fetch(sql, *args), key=lambda r: -r["id"])[:20]
    found = []
    for row in rows:
        reasons = [r for r in DUPLICATE_WEIGHTS if r in row["reasons"]]
        found.append({"other_id": row["id"], "reasons": reasons, "score": duplicate_score(reasons)})
    return found


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


async def _activity(lead_id: int, actor: Actor, kind: str, body: str = "", data: dict | None = None) -> None:
    await current_connection().execute(
        "INSERT INTO lead_activity (lead, kind, author_id, author_label, body, data, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6::jsonb, now())",
        lead_id, kind, actor.user_id, actor.label, body, json.dumps(data or {}, default=str))


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


# ---- routing and its consequences ---------------------------------------------------------------------------

async def route_lead(actor: Actor, lead: dict, *, trigger: str, ctx: LeadContext | None = None,
                     exclude: frozenset[int] = frozenset()) -> Decision:
    """Route (or re-route) a lead in the caller's transaction and act on the decision: owner, follow-up task,
    notifications. A failure inside routing leaves the lead unassigned with an alert case."""
    entity_id = lead["entity_id"]
    tx = engine().current_transaction.get()
    savepoint = await tx.savepoint()
    try:
        ctx = ctx or await lead_context(entity_id, lead["email_key"], lead["phone"], lead["ib_code"], lead["id"])
        timezone = ((ctx.routing or {}).get("rules") or {}).get("timezone") or "UTC"
        facts = facts_for(lead, entity_code=ctx.entity_code, returning=ctx.returning_owner is not None,
                          ib_referred=ctx.ib_referred, timezone=timezone)
        decision = await decide(ctx.routing, facts, entity_id=entity_id, now=_now(),
                                returning_owner_id=ctx.returning_owner, ib_manager_id=ctx.ib_manager, exclude=exclude)
        await _apply(actor, lead, decision, trigger)
        await savepoint.release()
    except Exception as exc:  # routing must never lose a lead: keep it, unassigned, and raise an alert
        await savepoint.rollback_to()
        log.exception("routing failed for lead %s", lead["reference"])
        decision = Decision(explanation=f"Routing failed: {type(exc).__name__}: {exc}. The lead waits unassigned.")
        await _apply(actor, lead, decision, trigger, failed=True)
    return decision


_DECISION = """
WITH decision AS (
    INSERT INTO routing_decision (lead, trigger, rule_set_id, rule_set_version, matched, pool_id, agent_id, candidates,
                                  explanation, duration_ms, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, now())
)
INSERT INTO lead_activity (lead, kind, author_id, author_label, body, data, created_at)
VALUES ($1, 'routing', $11, $12, $9, $13::jsonb, now())
"""


async def _apply(actor: Actor, lead: dict, decision: Decision, trigger: str, failed: bool = False) -> None:
    """Act on a decision in the caller's transaction. Work that takes the audit chain's lock (the case) comes
    last, so concurrent intakes wait on each other as briefly as possible."""
    conn = current_connection()
    now = _now()
    previous_owner = lead.get("owner_id")
    await conn.execute(
        _DECISION, lead["id"], trigger, decision.rule_set_id, decision.rule_set_version, decision.matched[:120],
        decision.pool_id, decision.agent_id, json.dumps(decision.candidates, default=str), decision.explanation,
        decision.duration_ms, actor.user_id, actor.label,
        json.dumps({"trigger": trigger, "agent_id": decision.agent_id, "pool_id": decision.pool_id,
                    "matched": decision.matched, "from": previous_owner}))
    lead.update(owner_id=decision.agent_id, pool_id=decision.pool_id, routed_at=now)
    link = f"/leads/{lead['reference']}"
    if decision.agent_id:
        await notify(decision.agent_id, "lead_assigned", {
            "reference": lead["reference"], "sla_minutes": round(decision.sla_seconds / 60, 1), "country": lead["country"],
            "source": lead["source"], "score": lead["score"], "matched": decision.matched}, link, lead["entity_id"],
            decision.team_id)
    else:
        lead_id = await _team_lead(decision.team_id, lead["entity_id"])
        if lead_id:
            await notify(lead_id, "lead_unrouted", {"reference": lead["reference"], "explanation": decision.explanation},
                         link, lead["entity_id"], decision.team_id)
    await emit(actor, "lead.routed", entity_id=lead["entity_id"], subject_type="lead", subject_id=lead["reference"],
               payload={"lead_id": lead["id"], "agent_id": decision.agent_id, "pool_id": decision.pool_id,
                        "previous_owner_id": previous_owner, "trigger": trigger})
    sla = dt.timedelta(seconds=decision.sla_seconds)
    title = f"First contact: {lead['reference']} ({lead['country'] or '??'}, {lead['source'] or 'direct'}, score {lead['score']})"
    if lead.get("case_id"):
        case_ref = cases.reference_for(lead["case_id"])
        case = dict(await conn.fetchrow(
            "UPDATE work_case SET assignee_id = $2, status = $3, sla_due_at = $4, queue_id = coalesce($5, queue_id), "
            "updated_at = now() WHERE id = $1 RETURNING *", lead["case_id"], decision.agent_id,
            "in_progress" if decision.agent_id else "open", now + sla, decision.team_id))
        await conn.execute(
            "INSERT INTO case_entry (\"case\", kind, author_id, author_label, body, data, created_at) "
            "VALUES ($1, 'assignment', $2, $3, $4, $5::jsonb, now())", case["id"], actor.user_id, actor.label,
            f"re-routed ({trigger})", json.dumps({"from": previous_owner, "to": decision.agent_id}))
        await emit(actor, "case.assigned", entity_id=lead["entity_id"], subject_type="case", subject_id=case_ref,
                   payload={"case_id": case["id"], "reference": case_ref, "queue_id": case["queue_id"],
                            "assignee_id": decision.agent_id, "status": case["status"]})
        await record_audit(actor, "cases:case:assign", target_type="case", target_id=case_ref, entity_id=lead["entity_id"],
                           before={"assignee_id": previous_owner}, after={"assignee_id": decision.agent_id},
                           reason=f"lead re-routed ({trigger})", case_id=case_ref)
    else:
        case = await cases.open_case(Actor.system("lead_routing"), "lead_followup", entity_id=lead["entity_id"],
                                     title=title, subjects=[("lead", str(lead["id"]), lead["reference"])],
                                     queue_id=decision.team_id, sla=sla, assignee_id=decision.agent_id,
                                     body=decision.explanation, audited_by_caller=trigger in ("intake", "import"))
        lead["case_id"] = case["id"]
    if failed:
        await cases.open_case(Actor.system("lead_routing"), "alert", entity_id=lead["entity_id"],
                              title=f"Lead {lead['reference']} could not be routed",
                              subjects=[("lead", str(lead["id"]), lead["reference"])], body=decision.explanation)
    await conn.execute("UPDATE lead SET owner_id = $2, pool_id = $3, routed_at = $4, updated_at = $4, case_id = $5 "
                       "WHERE id = $1", lead["id"], decision.agent_id, decision.pool_id, now, lead["case_id"])


async def _team_lead(team_id: int | None, entity_id: int) -> int | None:
    if team_id:
        rows = await fetch("SELECT lead FROM team WHERE id = $1", team_id)
        if rows and rows[0]["lead"]:
            return rows[0]["lead"]
    rows = await fetch("SELECT lead FROM team WHERE entity = $1 AND kind = 'sales' AND lead IS NOT NULL ORDER BY id LIMIT 1",
                       entity_id)
    return rows[0]["lead"] if rows else None


async def handle_sla_breach(actor: Actor, case: dict) -> None:
    """The follow-up of a lead is overdue: record the breach, re-route to the next eligible agent (never one who
    already breached on this lead), tell the team lead. Runs in the escalation cron's transaction."""
    conn = current_connection()
    row = await conn.fetchrow("SELECT * FROM lead WHERE case_id = $1 FOR UPDATE", case["id"])
    if row is None or row["first_contact_at"] is not None or row["status"] not in OPEN_LEAD_STATUSES:
        await conn.execute("UPDATE work_case SET escalated_at = now() WHERE id = $1", case["id"])
        return
    lead = dict(row)
    breached_by = lead["owner_id"]
    earlier = {r["agent_id"] for r in await conn.fetch("SELECT agent_id FROM lead_sla_breach WHERE lead = $1", lead["id"])}
    exclude = frozenset({a for a in earlier | {breached_by} if a})
    decision = await route_lead(actor, lead, trigger="sla_breach", exclude=exclude)
    await conn.execute(
        "INSERT INTO lead_sla_breach (lead, agent_id, pool_id, case_reference, reassigned_to_id, created_at) "
        "VALUES ($1, $2, $3, $4, $5, now())", lead["id"], breached_by, lead["pool_id"], case["reference"], decision.agent_id)
    if decision.agent_id is None:  # nobody left: stop re-routing, the team lead takes it from the queue
        await conn.execute("UPDATE work_case SET escalated_at = now() WHERE id = $1", case["id"])
    names = {r["id"]: r["full_name"] for r in await conn.fetch(
        "SELECT id, full_name FROM staff_user WHERE id = ANY($1::int[])", [a for a in (breached_by, decision.agent_id) if a])}
    today = await conn.fetchval("SELECT count(*) FROM lead_sla_breach WHERE agent_id = $1 AND created_at > now() - interval '1 day'",
                                breached_by) if breached_by else 0
    await _activity(lead["id"], actor, "sla_breach", f"{names.get(breached_by, 'Nobody')} missed the follow-up SLA",
                    {"agent_id": breached_by, "reassigned_to": decision.agent_id})
    await record_audit(actor, "leads:lead:sla_breach", target_type="lead", target_id=lead["reference"],
                       entity_id=lead["entity_id"], before={"owner_id": breached_by},
                       after={"owner_id": decision.agent_id}, case_id=case["reference"])
    team_lead = await _team_lead(decision.team_id or (await _pool_team(lead["pool_id"])), lead["entity_id"])
    if team_lead:
        await notify(team_lead, "lead_sla_breach", {
            "reference": lead["reference"], "agent": names.get(breached_by, "nobody"),
            "sla_minutes": round(decision.sla_seconds / 60, 1), "reassigned_to": names.get(decision.agent_id, ""),
            "breaches_today": today}, f"/leads/{lead['reference']}", lead["entity_id"], decision.team_id)


async def _pool_team(pool_id: int | None) -> int | None:
    if not pool_id:
        return None
    rows = await fetch("SELECT team_id FROM lead_pool WHERE id = $1", pool_id)
    return rows[0]["team_id"] if rows else None


# ---- working a lead -----------------------------------------------------------------------------------------

async def _locked_lead(actor: Actor, reference: str, permission: Permission = Permission.LEADS_LEAD_WORK) -> dict:
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


async def _first_contact(actor: Actor, lead: dict, how: str) -> None:
    """The first contact stops the SLA clock: the follow-up case is resolved as done."""
    if lead["first_contact_at"] is not None:
        return
    await current_connection().execute("UPDATE lead SET first_contact_at = now() WHERE id = $1", lead["id"])
    lead["first_contact_at"] = _now()
    if lead["case_id"]:
        case = await current_connection().fetchrow("SELECT reference, status FROM work_case WHERE id = $1", lead["case_id"])
        if case and case["status"] in ("open", "in_progress", "waiting"):
            await cases.set_status(Actor.system("lead_first_contact"), case["reference"], "resolved", resolution="done",
                                   reason=f"first contact: {how}")


async def set_status(actor: Actor, reference: str, status: str, *, lost_reason: str = "", note: str = "") -> dict:
    """Move a lead along the pipeline (new → contacted → interested → registered → KYC → funded), or lose it with
    a reason. Any move off "new" counts as the first contact."""
    if status not in set(LeadStatus):
        raise ValidationFailed("Unknown status", field_errors={"status": "Choose a status."})
    if status == LeadStatus.LOST and lost_reason not in LOST_REASONS:
        raise ValidationFailed("Why was it lost?", field_errors={"lost_reason": "Choose a reason."})
    async with transaction():
        lead = await _locked_lead(actor, reference)
        if lead["status"] == status:
            return lead
        if lead["status"] in (LeadStatus.FUNDED, LeadStatus.LOST) and status != LeadStatus.NEW:
            raise Conflict(f"This lead is {lead['status']}; reopen it first")
        if status in PIPELINE and lead["status"] in PIPELINE and PIPELINE.index(status) < PIPELINE.index(lead["status"]) \
                and status != LeadStatus.NEW:
            raise ValidationFailed("A lead does not move backwards", field_errors={"status": "Choose a later stage."})
        await current_connection().execute(
            "UPDATE lead SET status = $2, lost_reason = $3, updated_at = now() WHERE id = $1", lead["id"], status,
            lost_reason if status == LeadStatus.LOST else "")
        if status != LeadStatus.NEW:
            await _first_contact(actor, lead, f"status {status}")
        await _activity(lead["id"], actor, "status", note.strip()[:2000],
                        {"from": lead["status"], "to": status, "lost_reason": lost_reason})
        await record_audit(actor, "leads:lead:status", target_type="lead", target_id=reference, entity_id=lead["entity_id"],
                           before={"status": lead["status"]}, after={"status": status, "lost_reason": lost_reason},
                           reason=note.strip() or None)
        await emit(actor, "lead.updated", entity_id=lead["entity_id"], subject_type="lead", subject_id=reference,
                   payload={"lead_id": lead["id"], "owner_id": lead["owner_id"], "change": "status", "status": status})
        lead["status"] = status
    return lead


async def add_note(actor: Actor, reference: str, body: str) -> None:
    body = body.strip()
    if not body:
        raise ValidationFailed("Write something", field_errors={"body": "The note is empty."})
    async with transaction():
        lead = await _locked_lead(actor, reference)
        await _activity(lead["id"], actor, "note", body[:10_000])
        await current_connection().execute("UPDATE lead SET updated_at = now() WHERE id = $1", lead["id"])
        await emit(actor, "lead.updated", entity_id=lead["entity_id"], subject_type="lead", subject_id=reference,
                   payload={"lead_id": lead["id"], "owner_id": lead["owner_id"], "change": "note"})


CALL_OUTCOMES = ("answered", "no_answer", "busy", "voicemail", "failed", "disconnected")


async def record_call(actor: Actor, lead: dict, *, agent_id: int | None, provider: str, external_id: str | None,
                      started_at: dt.datetime, duration_s: int, outcome: str, direction: str = "outbound",
                      disposition: str = "", recording_ref: str = "") -> tuple[int, bool]:
    """Store one call in the caller's transaction (idempotent per provider call id); an answered call is the
    first contact. Returns (call id, created)."""
    conn = current_connection()
    if outcome not in CALL_OUTCOMES:
        raise ValidationFailed("Unknown call outcome", field_errors={"outcome": f"One of: {', '.join(CALL_OUTCOMES)}."})
    if not 0 <= duration_s <= 86_400:
        raise ValidationFailed("Implausible duration", field_errors={"duration_s": "0 to 86,400 seconds."})
    if started_at.tzinfo is None:
        raise ValidationFailed("Give the start time with its time zone", field_errors={"started_at": "e.g. 2026-11-23T10:00:00Z"})
    if external_id:
        existing = await conn.fetchval("SELECT id FROM call_record WHERE provider = $1 AND external_id = $2",
                                       provider, external_id)
        if existing:
            return existing, False
    call_id = await conn.fetchval(
        "INSERT INTO call_record (lead, agent_id, provider, external_id, direction, started_at, duration_s, outcome, "
        "disposition, recording_ref, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now()) RETURNING id",
        lead["id"], agent_id, provider, external_id, direction[:10], started_at.astimezone(dt.UTC), duration_s, outcome,
        disposition[:60], recording_ref[:300])
    minutes, seconds = divmod(duration_s, 60)
    await _activity(lead["id"], actor, "call", disposition, {
        "call_id": call_id, "agent_id": agent_id, "provider": provider, "outcome": outcome, "direction": direction,
        "duration": f"{minutes}:{seconds:02d}", "started_at": started_at.isoformat(), "recording": recording_ref})
    if outcome == "answered":
        await _first_contact(actor, lead, f"{direction} call answered")
    await emit(actor, "lead.call_logged", entity_id=lead["entity_id"], subject_type="lead", subject_id=lead["reference"],
               payload={"lead_id": lead["id"], "call_id": call_id, "agent_id": agent_id, "outcome": outcome,
                        "duration_s": duration_s, "owner_id": lead["owner_id"]})
    return call_id, True


async def log_call(actor: Actor, reference: str, *, outcome: str, duration_s: int, started_at: dt.datetime,
                   note: str = "", direction: str = "outbound") -> None:
    """An agent logs a call by hand."""
    async with transaction():
        lead = await _locked_lead(actor, reference)
        await record_call(actor, lead, agent_id=actor.user_id, provider="manual", external_id=None,
                          started_at=started_at, duration_s=duration_s, outcome=outcome, direction=direction,
                          disposition=note.strip())
        await record_audit(actor, "leads:call:log", target_type="lead", target_id=reference, entity_id=lead["entity_id"],
                           after={"outcome": outcome, "duration_s": duration_s})


async def record_signals(actor: Actor, reference: str, signals: dict) -> dict:
    """Later facts about a lead (KYC started, demo sessions ...) that scoring reads; the score is recomputed."""
    allowed = {"kyc_started": bool, "demo_sessions": int}
    clean_signals = {}
    for name, value in signals.items():
        if name not in allowed:
            raise ValidationFailed("Unknown signal", field_errors={name: f"Known signals: {', '.join(allowed)}."})
        try:
            clean_signals[name] = allowed[name](value)
        except (TypeError, ValueError):
            raise ValidationFailed("Bad signal value", field_errors={name: "Wrong type."}) from None
    async with transaction():
        row = await current_connection().fetchrow("SELECT * FROM lead WHERE reference = $1 FOR UPDATE", reference)
        if row is None or (not actor.is_system and not actor.can(Permission.LEADS_LEAD_VIEW, row["entity_id"])):
            raise NotFound("Lead")
        lead = dict(row)
        merged = {**(json.loads(lead["signals"]) if isinstance(lead["signals"], str) else lead["signals"]), **clean_signals}
        await current_connection().execute("UPDATE lead SET signals = $2::jsonb, updated_at = now() WHERE id = $1",
                                           lead["id"], json.dumps(merged))
        lead["signals"] = merged
        before = lead["score"]
        ctx = await lead_context(lead["entity_id"], lead["email_key"], lead["phone"], lead["ib_code"], lead["id"])
        score, detail = score_for(lead, ctx)
        await current_connection().execute("UPDATE lead SET score = $2, score_detail = $3::jsonb WHERE id = $1",
                                           lead["id"], score, json.dumps(detail))
        await _activity(lead["id"], actor, "score", f"Score {before} → {score}", {"signals": clean_signals, "detail": detail})
        await emit(actor, "lead.updated", entity_id=lead["entity_id"], subject_type="lead", subject_id=reference,
                   payload={"lead_id": lead["id"], "owner_id": lead["owner_id"], "change": "score", "score": score})
    return {"reference": reference, "score": score, "detail": detail}


async def set_presence(actor: Actor, status: str) -> None:
    if status not in ("available", "away", "offline"):
        raise ValidationFailed("Unknown presence", field_errors={"presence": "available, away or offline."})
    async with transaction():
        await current_connection().execute(
            "INSERT INTO agent_presence (agent_id, status, updated_at) VALUES ($1, $2, now()) "
            "ON CONFLICT (agent_id) DO UPDATE SET status = excluded.status, updated_at = now()", actor.user_id, status)
        await emit(actor, "agent.presence", subject_type="staff_user", subject_id=actor.user_id,
                   payload={"status": status})


async def presence_of(user_id: int) -> str:
    rows = await fetch("SELECT status FROM agent_presence WHERE agent_id = $1", user_id)
    return rows[0]["status"] if rows else "offline"


# ---- team-lead actions: manual assignment, reveal, merge ----------------------------------------------------

async def assign_manually(actor: Actor, reference: str, agent_id: int | None, reason: str) -> Decision:
    """A team lead gives a lead to someone (or back to the unassigned queue); the decision is stored like any."""
    if not reason.strip():
        raise ValidationFailed("Say why", field_errors={"reason": "A reason is required."})
    async with transaction():
        lead = await _locked_lead(actor, reference)
        if not actor.can(Permission.LEADS_TEAM_VIEW, lead["entity_id"]):
            raise PermissionDenied("Only team leads assign leads by hand")
        name = "the unassigned queue"
        if agent_id is not None:
            rows = await fetch(
                """SELECT u.full_name FROM staff_user u WHERE u.id = $1 AND u.active AND EXISTS (
                     SELECT 1 FROM role_assignment ra JOIN role r ON r.id = ra.role WHERE ra."user" = u.id
                       AND ra.entity = $2 AND ra.status = 'active' AND 'leads:lead:work' = ANY(r.permissions)
                       AND ra.valid_from <= now() AND (ra.valid_until IS NULL OR ra.valid_until > now()))""",
                agent_id, lead["entity_id"])
            if not rows:
                raise ValidationFailed("That person cannot work leads here", field_errors={"agent": "Choose someone else."})
            name = rows[0]["full_name"]
        decision = Decision(pool_id=lead["pool_id"], agent_id=agent_id, matched="manual",
                            explanation=f"Assigned by hand to {name} by {actor.label}: {reason.strip()}",
                            team_id=await _pool_team(lead["pool_id"]))
        await _apply(actor, lead, decision, "manual")
        await record_audit(actor, "leads:lead:assign", target_type="lead", target_id=reference, entity_id=lead["entity_id"],
                           before={"owner_id": lead.get("owner_id")}, after={"owner_id": agent_id}, reason=reason.strip())
    return decision


async def reveal_contact(actor: Actor, reference: str, field: str, reason: str, minutes: int) -> None:
    """Show a lead's e-mail or phone for a few minutes: the reason is required and audited, reveals are counted."""
    if field not in ("email", "phone"):
        raise ValidationFailed("Unknown field", field_errors={"field": "E-mail or phone."})
    if len(reason.strip()) < 5:
        raise ValidationFailed("A reason is required", field_errors={"reason": "Say why you need it (e.g. the call)."})
    async with transaction():
        row = await current_connection().fetchrow("SELECT * FROM lead WHERE reference = $1", reference)
        if row is None or not may_see(actor, dict(row)):
            raise NotFound("Lead")
        actor.require(Permission.CLIENTS_PII_REVEAL, row["entity_id"])
        until = _now() + dt.timedelta(minutes=minutes)
        await current_connection().execute(
            "INSERT INTO pii_reveal (\"user\", client, lead_id, field, reason, created_at, expires_at) "
            "VALUES ($1, NULL, $2, $3, $4, now(), $5)", actor.user_id, row["id"], field, reason.strip(), until)
        await record_audit(actor, "leads:pii:reveal", target_type="lead", target_id=reference, entity_id=row["entity_id"],
                           after={"field": field, "until": until}, reason=reason.strip())


MERGE_FILL = ("first_name", "last_name", "email", "email_key", "phone", "country", "language", "date_of_birth",
              "campaign", "ib_code", "device_id")


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
        rows = await conn.fetch("SELECT * FROM lead WHERE reference = ANY($1::text[]) ORDER BY id FOR UPDATE",
                                [survivor_ref, other_ref])
        by_ref = {r["reference"]: dict(r) for r in rows}
        if len(by_ref) != 2 or not all(may_see(actor, lead) for lead in by_ref.values()):
            raise NotFound("Lead")
        survivor, other = by_ref[survivor_ref], by_ref[other_ref]
        if survivor["entity_id"] != other["entity_id"]:
            raise ValidationFailed("Leads of different entities cannot be merged")
        if not actor.can(Permission.LEADS_TEAM_VIEW, survivor["entity_id"]) or not actor.can(Permission.LEADS_LEAD_WORK, survivor["entity_id"]):
            raise PermissionDenied("Only team leads merge leads")
        if survivor["merged_into_id"] or other["merged_into_id"]:
            raise Conflict("One of these leads was already merged")
        filled = {k: other[k] for k in MERGE_FILL if not survivor[k] and other[k]}
        for column, value in filled.items():
            await conn.execute(f"UPDATE lead SET {column} = $2 WHERE id = $1", survivor["id"], value)  # noqa: S608 (fixed names)
        for table in ("lead_activity", "call_record", "routing_decision", "lead_sla_breach"):
            await conn.execute(f"UPDATE {table} SET lead = $2 WHERE lead = $1", other["id"], survivor["id"])  # noqa: S608
        await conn.execute("UPDATE lead SET merged_into_id = $2, status = 'lost', lost_reason = 'duplicate', owner_id = NULL, "
                           "updated_at = now() WHERE id = $1", other["id"], survivor["id"])
        await conn.execute("UPDATE lead_duplicate SET status = 'merged' WHERE (lead = $1 AND other = $2) OR (lead = $2 AND other = $1)",
                           survivor["id"], other["id"])
        if other["case_id"]:
            case = await conn.fetchrow("SELECT reference, status FROM work_case WHERE id = $1", other["case_id"])
            if case and case["status"] in ("open", "in_progress", "waiting"):
                await cases.set_status(Actor.system("lead_merge"), case["reference"], "resolved", resolution="duplicate",
                                       reason=f"merged into {survivor_ref}")
        await _activity(survivor["id"], actor, "merge", reason.strip(), {"merged": other_ref, "filled": sorted(filled)})
        await record_audit(actor, "leads:lead:merge", target_type="lead", target_id=survivor_ref, entity_id=survivor["entity_id"],
                           before={"survivor": survivor_ref, "duplicate": other_ref, "duplicate_owner_id": other["owner_id"]},
                           after={"merged_into": survivor_ref, "filled": sorted(filled)}, reason=reason.strip())
        await emit(actor, "lead.updated", entity_id=survivor["entity_id"], subject_type="lead", subject_id=survivor_ref,
                   payload={"lead_id": survivor["id"], "owner_id": survivor["owner_id"], "change": "merge",
                            "previous_owner_id": other["owner_id"]})
    return survivor


async def dismiss_duplicate(actor: Actor, reference: str, duplicate_id: int) -> None:
    async with transaction():
        lead = await _locked_lead(actor, reference)
        await current_connection().execute(
            "UPDATE lead_duplicate SET status = 'dismissed' WHERE id = $1 AND (lead = $2 OR other = $2)", duplicate_id, lead["id"])
        await _activity(lead["id"], actor, "note", "Not a duplicate", {"duplicate_id": duplicate_id})


# ---- preview: a hypothetical lead against published or draft rules ------------------------------------------

async def preview(actor: Actor, entity_id: int, raw: dict, *, use_drafts: bool) -> dict:
    """What would happen to this lead now: its score (with each rule's points), the matched rule and pool, every
    candidate with the reason, and the agent chosen. Nothing is saved and no counter moves."""
    actor.require(Permission.LEADS_ROUTING_MANAGE, entity_id)
    lead_in, errors = clean({"first_name": "Preview", **raw})
    if not raw.get("email") and not raw.get("phone"):
        errors.pop("email", None)  # a preview needs no way to reach the person
    if errors:
        raise ValidationFailed("The lead has invalid fields", field_errors=errors)

    async def rule_doc(kind: str) -> dict | None:
        if use_drafts:
            rows = await fetch("SELECT * FROM lead_rule_set WHERE kind = $1 AND entity_id = $2 AND status IN "
                               "('draft', 'pending') ORDER BY version DESC LIMIT 1", kind, entity_id)
            if rows:
                return dict(rows[0]) | {"rules": json.loads(rows[0]["rules"]) if isinstance(rows[0]["rules"], str) else rows[0]["rules"]}
        return await published_rules(kind, entity_id)

    lead = {**dataclasses.asdict(lead_in), "id": 0, "entity_id": entity_id, "signals": {}, "score": 0,
            "email_key": lead_in.email_key}
    for signal in ("kyc_started", "demo_sessions"):
        if raw.get(signal):
            lead["signals"][signal] = raw[signal] in ("1", "on", "true", True) if signal == "kyc_started" else int(raw[signal])
    async with transaction():
        ctx = await lead_context(entity_id, lead_in.email_key, lead_in.phone, lead_in.ib_code)
        ctx = dataclasses.replace(ctx, scoring=await rule_doc("scoring"), routing=await rule_doc("routing"))
        score, contributions = score_for(lead, ctx)
        timezone = ((ctx.routing or {}).get("rules") or {}).get("timezone") or "UTC"
        facts = facts_for(lead, entity_code=ctx.entity_code, returning=ctx.returning_owner is not None,
                          ib_referred=ctx.ib_referred, timezone=timezone, score=score)
        decision = await decide(ctx.routing, facts, entity_id=entity_id, now=_now(), returning_owner_id=ctx.returning_owner,
                                ib_manager_id=ctx.ib_manager, dry_run=True)
    names = {r["id"]: r["full_name"] for r in await fetch("SELECT id, full_name FROM staff_user WHERE id = $1",
                                                           decision.agent_id or 0)}
    return {"score": score, "contributions": contributions, "decision": decision,
            "agent_name": names.get(decision.agent_id), "facts": dataclasses.asdict(facts) | {"region": facts.region},
            "scoring_version": (ctx.scoring or {}).get("version"), "routing_version": (ctx.routing or {}).get("version")}
