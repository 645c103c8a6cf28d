"""A lead follow-up past its SLA: the `lead_followup` case kind breaches here instead of the default
escalation. The breach is recorded, the lead re-routed to the next eligible agent (never one who already
breached on it), and the team lead told."""

from __future__ import annotations

import datetime as dt

from crm.core.audit.service import record_audit
from crm.core.cases import service as cases
from crm.core.cases.kinds import CaseKind, register_case_kind
from crm.core.context import Actor
from crm.core.db import current_connection
from crm.core.notifications.service import notify
from crm.core.notifications.templates import TemplateSpec, register_template
from crm.leads.assignment import pool_team, route_lead, team_lead_of
from crm.leads.context import (
    add_activity,
)
from crm.leads.normalise import whole_minutes
from crm.leads.tables import OPEN_LEAD_STATUSES
from crm.leads.tags import LeadsTag

LEAD_SLA_BREACH = register_template(
    TemplateSpec(
        "lead_sla_breach",
        "Lead follow-up past its SLA (to the team lead)",
        "{{ reference }}: {{ agent }} missed the {{ sla_minutes }}-minute SLA",
        "{% if reassigned_to %}Reassigned to {{ reassigned_to }}.{% else %}Nobody else is eligible: it waits "
        "in the queue.{% endif %} "
        "{{ agent }} has {{ breaches_today }} breach(es) today.",
        sample={
            "reference": "LD-000123",
            "agent": "Ana Agent",
            "sla_minutes": 5,
            "reassigned_to": "Bo Agent",
            "breaches_today": 2,
        },
    )
)


async def _breached(actor: Actor, case: dict) -> None:
    await handle_sla_breach(actor, case)


LEAD_FOLLOWUP = register_case_kind(
    CaseKind(
        "lead_followup",
        "Lead follow-up",
        2,
        dt.timedelta(minutes=5),
        "sales",
        notify_assignee=False,
        on_breach=_breached,
    )
)


async def handle_sla_breach(actor: Actor, case: dict) -> None:
    """The follow-up of a lead is overdue: record the breach, re-route to the next eligible agent (never one
    who already breached on this lead), tell the team lead. Runs in the escalation cron's transaction."""
    conn = current_connection()
    row = await conn.fetchrow("SELECT * FROM lead WHERE case_id = $1 FOR UPDATE", case["id"])
    if row is None or row["first_contact_at"] is not None or row["status"] not in OPEN_LEAD_STATUSES:
        await cases.mark_escalated(case["id"])
        return
    lead = dict(row)
    breached_by = lead["owner_id"]
    earlier = {
        r["agent_id"]
        for r in await conn.fetch("SELECT agent_id FROM lead_sla_breach WHERE lead = $1", lead["id"])
    }
    exclude = frozenset({a for a in earlier | {breached_by} if a})
    decision = await route_lead(actor, lead, trigger="sla_breach", exclude=exclude)
    await conn.execute(
        "INSERT INTO lead_sla_breach (lead, agent_id, pool_id, case_reference, reassigned_to_id, created_at) "
        "VALUES ($1, $2, $3, $4, $5, now())",
        lead["id"],
        breached_by,
        lead["pool_id"],
        case["reference"],
        decision.agent_id,
    )
    if decision.agent_id is None:  # nobody left: stop re-routing, the team lead takes it from the queue
        await cases.mark_escalated(case["id"])
    names = {
        r["id"]: r["full_name"]
        for r in await conn.fetch(
            "SELECT id, full_name FROM staff_user WHERE id = ANY($1::int[])",
            [a for a in (breached_by, decision.agent_id) if a],
        )
    }
    today = (
        await conn.fetchval(
            "SELECT count(*) FROM lead_sla_breach WHERE agent_id = $1 AND created_at > now() - interval '1 "
            "day'",
            breached_by,
        )
        if breached_by
        else 0
    )
    await add_activity(
        lead["id"],
        actor,
        "sla_breach",
        f"{names.get(breached_by, 'Nobody')} missed the follow-up SLA",
        {"agent_id": breached_by, "reassigned_to": decision.agent_id},
    )
    await record_audit(
        actor,
        LeadsTag.LEAD_SLA_BREACH,
        target_type="lead",
        target_id=lead["reference"],
        entity_id=lead["entity_id"],
        before={"owner_id": breached_by},
        after={"owner_id": decision.agent_id},
        case_id=case["reference"],
    )
    team_lead = await team_lead_of(decision.team_id or (await pool_team(lead["pool_id"])), lead["entity_id"])
    if team_lead:
        await notify(
            team_lead,
            "lead_sla_breach",
            {
                "reference": lead["reference"],
                "agent": names.get(breached_by, "nobody"),
                "sla_minutes": whole_minutes(decision.sla_seconds),
                "reassigned_to": names.get(decision.agent_id, ""),
                "breaches_today": today,
            },
            f"/leads/{lead['reference']}",
            lead["entity_id"],
            decision.team_id,
        )
