"""Routing a lead and acting on the decision: the follow-up case and its notifications, and manual assignment
by a team lead (the SLA breach that re-routes is in breach.py, the what-if of one lead in preview.py).

If routing fails, the lead is still saved, waits in the unassigned queue and an alert case says so (routing
runs in a savepoint of the caller's transaction, or intake rolls back and saves the lead again without
routing)."""

from __future__ import annotations

import datetime as dt
import json
import logging

from crm.core.audit.service import record_audit
from crm.core.cases import service as cases
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, savepoint, transaction
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.core.events.service import emit
from crm.core.notifications.service import notify
from crm.core.notifications.templates import TemplateSpec, register_template
from crm.core.permissions import Permission
from crm.leads.context import (
    LeadContext,
    _now,
    activity_sql,
    facts_for,
    lead_context,
    locked_lead,
)
from crm.leads.normalise import whole_minutes
from crm.leads.routing import Decision, decide
from crm.leads.tags import LeadsTag

log = logging.getLogger("crm.leads")


# ---- registrations: the follow-up case kind and the notification wording --------------------------------

LEAD_ASSIGNED = register_template(
    TemplateSpec(
        "lead_assigned",
        "New lead assigned to you",
        "New lead {{ reference }}: call within {{ sla_minutes }} min",
        "{{ country }} · {{ source or 'direct' }} · score {{ score }}. Reason: {{ matched }}.",
        sample={
            "reference": "LD-000123",
            "sla_minutes": 5,
            "country": "ES",
            "source": "facebook",
            "score": 70,
            "matched": "LatAm Spanish",
        },
    )
)
LEAD_UNROUTED = register_template(
    TemplateSpec(
        "lead_unrouted",
        "Lead waiting with nobody to take it (to the team lead)",
        "{{ reference }} is waiting: nobody eligible",
        "{{ explanation }}",
        sample={"reference": "LD-000123", "explanation": "Pool LatAm: nobody eligible (3 members)."},
    )
)


# ---- routing and its consequences --------------------------------------------------------------------------


async def route_lead(
    actor: Actor,
    lead: dict,
    *,
    trigger: str,
    ctx: LeadContext | None = None,
    exclude: frozenset[int] = frozenset(),
    isolated: bool = True,
) -> Decision:
    """Route (or re-route) a lead in the caller's transaction and act on the decision: owner, follow-up task,
    notifications. `isolated` (the default) routes in a savepoint, so a failure leaves the lead unassigned
    with an alert case; otherwise the failure is raised and the caller rolls back and calls
    `record_routing_failure`."""
    if not isolated:
        return await _route(actor, lead, trigger, ctx, exclude)
    try:
        async with savepoint():
            decision = await _route(actor, lead, trigger, ctx, exclude)
    except Exception as exc:  # routing must never lose a lead: keep it, unassigned, and raise an alert
        decision = await record_routing_failure(actor, lead, trigger, exc)
    return decision


async def route_new_lead(actor: Actor, lead: dict, *, trigger: str, ctx: LeadContext) -> Decision:
    """Route a lead not saved yet (intake): everything but the decision's own record, which the caller saves
    with the lead (`decision_record`). Failures are raised: the caller rolls back."""
    return await _route(actor, lead, trigger, ctx, frozenset(), new=True)


async def _route(
    actor: Actor,
    lead: dict,
    trigger: str,
    ctx: LeadContext | None,
    exclude: frozenset[int],
    new: bool = False,
) -> Decision:
    entity_id = lead["entity_id"]
    ctx = ctx or await lead_context(entity_id, lead["email_key"], lead["phone"], lead["ib_code"], lead["id"])
    timezone = ((ctx.routing or {}).get("rules") or {}).get("timezone") or "UTC"
    facts = facts_for(
        lead,
        entity_code=ctx.entity_code,
        returning=ctx.returning_owner is not None,
        ib_referred=ctx.ib_referred,
        timezone=timezone,
    )
    decision = await decide(
        ctx.routing,
        facts,
        entity_id=entity_id,
        now=_now(),
        returning_owner_id=ctx.returning_owner,
        ib_manager_id=ctx.ib_manager,
        exclude=exclude,
    )
    await _apply(actor, lead, decision, trigger, new=new)
    return decision


async def record_routing_failure(actor: Actor, lead: dict, trigger: str, exc: BaseException) -> Decision:
    """Routing failed: the lead waits unassigned with its follow-up task in the queue, and an alert case says
    why."""
    log.error("routing failed for lead %s", lead["reference"], exc_info=exc)
    decision = Decision(
        explanation=f"Routing failed: {type(exc).__name__}: {exc}. The lead waits unassigned."
    )
    await _apply(actor, lead, decision, trigger, failed=True)
    return decision


# The decision, the lead's new owner, pool and task, and the timeline entry: one round trip, written last.
# $1 lead, $2-$9 `decision_record`, $10 agent, $11 pool, $12 now, $13 case, $14-$15 the actor.
_DECISION = f"""
WITH decision AS (
    INSERT INTO routing_decision (lead, trigger, rule_set_id, rule_set_version, matched, pool_id, agent_id,
        candidates,
                                  explanation, duration_ms, created_at)
    SELECT $1, $2, $3, $4, $5, $11, $10, $6::jsonb, $7, $8, now()
), moved AS (
    UPDATE lead SET owner_id = $10, pool_id = $11, routed_at = $12, updated_at = $12, case_id = $13
        WHERE id = $1
)
{
    activity_sql(
        lead="$1",
        kind="'routing'",
        author_id="$14::int",
        author_label="$15::text",
        body="$7::text",
        data="$9::jsonb",
    )
}
"""  # noqa: S608 (SQL fragments of the owning modules)


def decision_record(actor: Actor, decision: Decision, trigger: str, previous_owner: int | None) -> tuple:
    """The routing decision's stored values: trigger, rule set id and version, matched rule, candidates,
    explanation, duration, and the routing timeline entry's data."""
    return (
        trigger,
        decision.rule_set_id,
        decision.rule_set_version,
        decision.matched[:120],
        json.dumps(decision.candidates, default=str),
        decision.explanation,
        decision.duration_ms,
        json.dumps(
            {
                "trigger": trigger,
                "agent_id": decision.agent_id,
                "pool_id": decision.pool_id,
                "matched": decision.matched,
                "from": previous_owner,
            }
        ),
    )


async def _apply(
    actor: Actor, lead: dict, decision: Decision, trigger: str, failed: bool = False, new: bool = False
) -> None:
    """Act on a decision in the caller's transaction: notifications, the routed event, the follow-up case
    (opened, or handed over on a re-route), then the decision with the lead's new owner in one statement
    (unless the lead is `new`: intake saves the decision and the routed event with the lead)."""
    conn = current_connection()
    now = _now()
    previous_owner = lead.get("owner_id")
    lead.update(owner_id=decision.agent_id, pool_id=decision.pool_id, routed_at=now)
    link = f"/leads/{lead['reference']}"
    if decision.agent_id:
        await notify(
            decision.agent_id,
            "lead_assigned",
            {
                "reference": lead["reference"],
                "sla_minutes": whole_minutes(decision.sla_seconds),
                "country": lead["country"],
                "source": lead["source"],
                "score": lead["score"],
                "matched": decision.matched,
            },
            link,
            lead["entity_id"],
            decision.team_id,
        )
    else:
        lead_id = await team_lead_of(decision.team_id, lead["entity_id"])
        if lead_id:
            await notify(
                lead_id,
                "lead_unrouted",
                {"reference": lead["reference"], "explanation": decision.explanation},
                link,
                lead["entity_id"],
                decision.team_id,
            )
    if not new:  # a new lead's `lead.routed` is written with the lead
        await emit(
            actor,
            "lead.routed",
            entity_id=lead["entity_id"],
            subject_type="lead",
            subject_id=lead["reference"],
            payload={
                "lead_id": lead["id"],
                "agent_id": decision.agent_id,
                "pool_id": decision.pool_id,
                "previous_owner_id": previous_owner,
                "trigger": trigger,
            },
        )
    sla = dt.timedelta(seconds=decision.sla_seconds)
    where = f"{lead['country'] or '??'}, {lead['source'] or 'direct'}, score {lead['score']}"
    title = f"First contact: {lead['reference']} ({where})"
    if lead.get("case_id"):
        await cases.hand_over(
            actor,
            lead["case_id"],
            assignee_id=decision.agent_id,
            sla_due_at=now + sla,
            queue_id=decision.team_id,
            reason=f"lead re-routed ({trigger})",
        )
    else:
        case = await cases.open_case(
            Actor.system("lead_routing"),
            "lead_followup",
            entity_id=lead["entity_id"],
            title=title,
            subjects=[("lead", str(lead["id"]), lead["reference"])],
            queue_id=decision.team_id,
            sla=sla,
            assignee_id=decision.agent_id,
            body=decision.explanation,
            audited_by_caller=trigger in ("intake", "import"),
        )
        lead["case_id"] = case["id"]
    if failed:
        await cases.open_case(
            Actor.system("lead_routing"),
            "alert",
            entity_id=lead["entity_id"],
            title=f"Lead {lead['reference']} could not be routed",
            subjects=[("lead", str(lead["id"]), lead["reference"])],
            body=decision.explanation,
        )
    if not new:
        await conn.execute(
            _DECISION,
            lead["id"],
            *decision_record(actor, decision, trigger, previous_owner),
            decision.agent_id,
            decision.pool_id,
            now,
            lead["case_id"],
            actor.user_id,
            actor.label,
        )


async def team_lead_of(team_id: int | None, entity_id: int) -> int | None:
    if team_id:
        rows = await fetch("SELECT lead FROM team WHERE id = $1", team_id)
        if rows and rows[0]["lead"]:
            return rows[0]["lead"]
    rows = await fetch(
        "SELECT lead FROM team WHERE entity = $1 AND kind = 'sales' AND lead IS NOT NULL ORDER BY id LIMIT 1",
        entity_id,
    )
    return rows[0]["lead"] if rows else None


async def pool_team(pool_id: int | None) -> int | None:
    if not pool_id:
        return None
    rows = await fetch("SELECT team_id FROM lead_pool WHERE id = $1", pool_id)
    return rows[0]["team_id"] if rows else None


async def assign_manually(actor: Actor, reference: str, agent_id: int | None, reason: str) -> Decision:
    """A team lead gives a lead to someone (or back to the unassigned queue); the decision is stored like
    any."""
    if not reason.strip():
        raise ValidationFailed("Say why", field_errors={"reason": "A reason is required."})
    async with transaction():
        lead = await locked_lead(actor, reference)
        if not actor.can(Permission.LEADS_TEAM_VIEW, lead["entity_id"]):
            raise PermissionDenied("Only team leads assign leads by hand")
        name = "the unassigned queue"
        if agent_id is not None:
            rows = await fetch(
                """SELECT u.full_name FROM staff_user u WHERE u.id = $1 AND u.active AND EXISTS (
                     SELECT 1 FROM role_assignment ra JOIN role r ON r.id = ra.role WHERE ra."user" = u.id
                       AND ra.entity = $2 AND ra.status = 'active' AND 'leads:lead:work' = ANY(r.permissions)
                       AND ra.valid_from <= now() AND (ra.valid_until IS NULL OR ra.valid_until > now()))""",
                agent_id,
                lead["entity_id"],
            )
            if not rows:
                raise ValidationFailed(
                    "That person cannot work leads here", field_errors={"agent": "Choose someone else."}
                )
            name = rows[0]["full_name"]
        decision = Decision(
            pool_id=lead["pool_id"],
            agent_id=agent_id,
            matched="manual",
            explanation=f"Assigned by hand to {name} by {actor.label}: {reason.strip()}",
            team_id=await pool_team(lead["pool_id"]),
        )
        await _apply(actor, lead, decision, "manual")
        await record_audit(
            actor,
            LeadsTag.LEAD_ASSIGN,
            target_type="lead",
            target_id=reference,
            entity_id=lead["entity_id"],
            before={"owner_id": lead.get("owner_id")},
            after={"owner_id": agent_id},
            reason=reason.strip(),
        )
    return decision


BULK_LIMIT = 200


async def assign_many(actor: Actor, references: list[str], agent_id: int | None, reason: str) -> int:
    """A team lead hands several leads to one person (or back to the unassigned queue) at once: each is
    assigned and audited as if by hand, all in one transaction, so a refusal for one leaves every lead as it
    was."""
    references = list(dict.fromkeys(r.strip() for r in references if r.strip()))
    if not references:
        raise ValidationFailed("Choose leads", field_errors={"leads": "Tick the leads to assign."})
    if len(references) > BULK_LIMIT:
        raise ValidationFailed(
            "Too many at once", field_errors={"leads": f"At most {BULK_LIMIT} leads at a time."}
        )
    async with transaction():
        for reference in references:
            await assign_manually(actor, reference, agent_id, reason)
    return len(references)
