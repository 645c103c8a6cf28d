"""SLA escalation: the cron that marks each overdue case escalated (once) and tells the queue's team lead; a
case kind with its own `on_breach` (e.g. lead follow-ups, which re-route) handles its cases instead."""

from __future__ import annotations

from crm.core.audit.service import record_audit
from crm.core.audit.tags import CasesTag
from crm.core.cases.kinds import find_case_kind
from crm.core.cases.service import add_entry, case_event, now_utc
from crm.core.cases.tables import (
    WorkCase,
)
from crm.core.context import Actor
from crm.core.db import current_connection, transaction
from crm.core.registry import require_loaded

_OVERDUE = """
SELECT c.*, t.lead AS lead_id FROM work_case c LEFT JOIN team t ON t.id = c.queue_id
WHERE c.status IN ('open', 'in_progress', 'waiting') AND c.escalated_at IS NULL AND c.sla_due_at <= now()
ORDER BY c.sla_due_at LIMIT 500
FOR UPDATE OF c SKIP LOCKED
"""


async def escalate_overdue() -> int:
    """Cron: mark each overdue case escalated (once), record it, and tell the queue's team lead via an event;
    a kind with its own `on_breach` (e.g. lead follow-ups, which reassign) handles its cases instead."""
    require_loaded("escalating cases")  # every area's case kinds and their breach handlers
    actor = Actor.system("escalate_overdue_cases")
    async with transaction():
        rows = await current_connection().fetch(_OVERDUE)
        for row in rows:
            case = dict(row)
            lead_id = case.pop("lead_id")
            spec = find_case_kind(case["kind"])
            if spec is not None and spec.on_breach is not None:
                await spec.on_breach(actor, case)
                continue
            await WorkCase.update({WorkCase.escalated_at: now_utc()}).where(WorkCase.id == case["id"])
            await add_entry(
                case, actor, "escalation", "SLA breached: escalated to the team lead", {"lead_id": lead_id}
            )
            await record_audit(
                actor,
                CasesTag.CASE_ESCALATE,
                target_type="case",
                target_id=case["reference"],
                entity_id=case["entity_id"],
                after={"sla_due_at": case["sla_due_at"], "lead_id": lead_id},
                case_id=case["reference"],
            )
            await case_event(actor, "case.escalated", case, lead_id=lead_id)
    return len(rows)
