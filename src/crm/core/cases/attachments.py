"""Files on a case's timeline: kept with their SHA-256 (core/files), audited, downloaded only by those who may
see the case, each download audited too (attachments may hold client data)."""

from __future__ import annotations

from crm.core.audit.service import record_audit
from crm.core.audit.tags import CasesTag
from crm.core.cases.service import add_entry, case_event, locked_case, now_utc
from crm.core.cases.tables import (
    WorkCase,
)
from crm.core.context import Actor
from crm.core.db import fetch, transaction
from crm.core.errors import NotFound
from crm.core.files.service import load, store
from crm.core.permissions import Permission
from crm.core.scope import in_scope


async def attach(actor: Actor, reference: str, filename: str, content: bytes, note: str = "") -> dict:
    """Keep a file on the case's timeline (stored with its SHA-256, audited, shown to whoever may see the
    case)."""
    async with transaction():
        case = await locked_case(actor, reference)
        info = await store(filename, content, entity_id=case["entity_id"], uploaded_by_id=actor.user_id)
        data = {
            "file_id": info.id,
            "filename": info.filename,
            "size": info.size,
            "sha256": info.sha256,
            "content_type": info.content_type,
        }
        await add_entry(case, actor, "attachment", note.strip()[:2000], data)
        await WorkCase.update({WorkCase.updated_at: now_utc()}).where(WorkCase.id == case["id"])
        await record_audit(
            actor,
            CasesTag.CASE_ATTACH,
            target_type="case",
            target_id=reference,
            entity_id=case["entity_id"],
            after=data,
            case_id=reference,
        )
        await case_event(actor, "case.updated", case, change="attachment")
    return data


async def attachment(actor: Actor, reference: str, file_id: int) -> dict:
    """A file attached to a case the actor may see; the download is audited (attachments may hold client
    data)."""
    async with transaction():
        rows = await fetch(
            """SELECT c.entity_id FROM case_entry e JOIN work_case c ON c.id = e."case"
               WHERE c.reference = $1 AND e.kind = 'attachment' AND (e.data->>'file_id')::int = $2""",
            reference,
            file_id,
        )
        in_scope(actor, Permission.CASES_CASE_VIEW, rows[0] if rows else None, "Attachment")
        stored = await load(file_id)
        if stored is None:
            raise NotFound("Attachment")
        await record_audit(
            actor,
            CasesTag.ATTACHMENT_DOWNLOAD,
            target_type="stored_file",
            target_id=file_id,
            target_label=stored["filename"],
            entity_id=rows[0]["entity_id"],
            after={"sha256": stored["sha256"]},
            case_id=reference,
        )
    return stored
