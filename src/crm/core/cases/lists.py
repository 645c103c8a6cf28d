"""What a case list does with many cases at once: hand the ticked ones to one person (each assigned and
audited as if by hand, all or none) and export the filtered list as CSV (formula-safe, audited with the
filter and the row count)."""

from __future__ import annotations

import dataclasses

from crm.core.audit.service import record_audit
from crm.core.audit.tags import CasesTag
from crm.core.cases.queries import CaseFilter, list_page
from crm.core.cases.service import assign
from crm.core.cases.tables import PRIORITIES
from crm.core.context import Actor
from crm.core.db import transaction
from crm.core.errors import ValidationFailed
from crm.core.exports import csv_text
from crm.core.labels import LABELS
from crm.core.listing import every_row

BULK_LIMIT = 200
EXPORT_LIMIT = 50_000
COLUMNS = [
    ("reference", "Case"),
    ("title", "Title"),
    ("kind", "Kind"),
    ("priority", "Priority"),
    ("status", "Status"),
    ("entity_code", "Entity"),
    ("queue_name", "Queue"),
    ("assignee_name", "Assignee"),
    ("sla_due_at", "SLA due (UTC)"),
    ("created_at", "Opened (UTC)"),
]


async def assign_many(actor: Actor, references: list[str], assignee_id: int | None, reason: str) -> int:
    """Give several cases to one person (or back to their queues): one transaction, so a refusal for one
    (closed, out of reach, someone who may not work it there) leaves every case as it was."""
    references = list(dict.fromkeys(r.strip() for r in references if r.strip()))
    errors = {}
    if not references:
        errors["cases"] = "Tick the cases to assign."
    elif len(references) > BULK_LIMIT:
        errors["cases"] = f"At most {BULK_LIMIT} cases at a time."
    if not reason.strip():
        errors["reason"] = "Say why they change hands (it goes in each case's history)."
    if errors:
        raise ValidationFailed("Nothing was assigned", field_errors=errors)
    async with transaction():
        for reference in references:
            await assign(actor, reference, assignee_id, reason.strip())
    return len(references)


async def export_cases(actor: Actor, f: CaseFilter) -> tuple[str, int]:
    """(CSV text, rows) for the filtered list in its order, at most EXPORT_LIMIT rows; audited."""
    rows = await every_row(lambda page: list_page(actor, page, limit=1000), f, EXPORT_LIMIT)

    def cell(row: dict, name: str):
        value = row.get(name)
        if name == "status":
            return LABELS.text("case_status", value)
        if name == "kind":
            return LABELS.text("case_kind", value)
        if name == "priority":
            return PRIORITIES.get(value, value)
        return value.isoformat() if hasattr(value, "isoformat") else ("" if value is None else value)

    text = csv_text([title for _, title in COLUMNS], ([cell(r, n) for n, _ in COLUMNS] for r in rows))
    async with transaction():
        await record_audit(
            actor,
            CasesTag.LIST_EXPORT,
            target_type="case_list",
            target_id="all",
            after={
                "filter": {k: v for k, v in dataclasses.asdict(f).items() if v not in (None, "", False)},
                "rows": len(rows),
            },
            reason="CSV export of a case list",
        )
    return text, len(rows)
