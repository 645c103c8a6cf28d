"""Working a case once it is open: notes, and status changes up to the resolution (a reason and a resolution
when it closes). Each writes its timeline entry, an audit row naming the case, and its domain event."""

from __future__ import annotations

from crm.core.audit.service import record_audit
from crm.core.audit.tags import CasesTag
from crm.core.cases.service import add_entry, case_event, locked_case, now_utc
from crm.core.cases.tables import (
    RESOLUTIONS,
    CaseStatus,
    WorkCase,
)
from crm.core.context import Actor
from crm.core.db import transaction
from crm.core.errors import Conflict, ValidationFailed


async def add_note(actor: Actor, reference: str, body: str) -> None:
    body = body.strip()
    if not body:
        raise ValidationFailed("Write something", field_errors={"body": "The note is empty."})
    async with transaction():
        case = await locked_case(actor, reference)
        await add_entry(case, actor, "note", body[:10_000])
        await WorkCase.update({WorkCase.updated_at: now_utc()}).where(WorkCase.id == case["id"])
        await record_audit(
            actor,
            CasesTag.CASE_NOTE,
            target_type="case",
            target_id=reference,
            entity_id=case["entity_id"],
            after={"length": len(body)},
            case_id=reference,
        )
        await case_event(actor, "case.updated", case, change="note")


async def set_status(
    actor: Actor, reference: str, status: str, *, resolution: str = "", reason: str = ""
) -> dict:
    """Move the case along open → in progress → waiting → resolved/closed; resolving needs a resolution
    code."""
    if status not in set(CaseStatus):
        raise ValidationFailed("Unknown status", field_errors={"status": "Choose a status."})
    closing = status in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
    if closing and resolution not in RESOLUTIONS:
        raise ValidationFailed("Choose a resolution", field_errors={"resolution": "How was it resolved?"})
    async with transaction():
        case = await locked_case(actor, reference)
        if case["status"] == status:
            return case
        if case["status"] == CaseStatus.CLOSED:
            raise Conflict("This case is closed")
        changes = {
            WorkCase.status: status,
            WorkCase.updated_at: now_utc(),
            WorkCase.resolution: resolution if closing else "",
            WorkCase.resolved_at: now_utc() if closing else None,
        }
        await WorkCase.update(changes).where(WorkCase.id == case["id"])
        before = {"status": case["status"], "resolution": case["resolution"]}
        case |= {"status": status, "resolution": resolution if closing else ""}
        await add_entry(
            case,
            actor,
            "decision" if closing else "status",
            reason,
            {"from": before["status"], "to": status, "resolution": case["resolution"]},
        )
        await record_audit(
            actor,
            CasesTag.CASE_RESOLVE if closing else CasesTag.CASE_STATUS,
            target_type="case",
            target_id=reference,
            entity_id=case["entity_id"],
            before=before,
            after={"status": status, "resolution": case["resolution"]},
            reason=reason or None,
            case_id=reference,
        )
        await case_event(actor, "case.resolved" if closing else "case.updated", case, change="status")
    return case
