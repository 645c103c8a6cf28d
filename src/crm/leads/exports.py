"""A lead list as CSV: the rows the screen would show (same filter, same scope, contact data masked), at most
EXPORT_LIMIT of them, safe to open in a spreadsheet (core/exports.py), and audited with the filter and the row
count in the same transaction."""

from __future__ import annotations

import dataclasses

from crm.core.audit.service import record_audit
from crm.core.context import Actor
from crm.core.db import transaction
from crm.core.exports import csv_text
from crm.core.labels import LABELS
from crm.core.listing import every_row
from crm.leads.queries import LeadFilter, list_leads
from crm.leads.tags import LeadsTag

EXPORT_LIMIT = 50_000
COLUMNS = [
    ("reference", "Reference"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "E-mail (masked)"),
    ("phone", "Phone (masked)"),
    ("country", "Country"),
    ("language", "Language"),
    ("source", "Source"),
    ("campaign", "Campaign"),
    ("status", "Status"),
    ("score", "Score"),
    ("owner_name", "Owner"),
    ("pool_name", "Pool"),
    ("entity_code", "Entity"),
    ("created_at", "Created (UTC)"),
    ("first_contact_at", "First contact (UTC)"),
]


async def export_leads(actor: Actor, f: LeadFilter) -> tuple[str, int]:
    """(CSV text, rows) for the filtered list; the export is recorded in the audit trail."""
    rows = await every_row(lambda page: list_leads(actor, page), f, EXPORT_LIMIT)

    def cell(row: dict, name: str):
        value = row.get(name)
        if name == "status":
            return LABELS.text("lead_status", value)
        return value.isoformat() if hasattr(value, "isoformat") else ("" if value is None else value)

    text = csv_text([title for _, title in COLUMNS], ([cell(r, n) for n, _ in COLUMNS] for r in rows))
    async with transaction():
        await record_audit(
            actor,
            LeadsTag.LIST_EXPORT,
            target_type="lead_list",
            target_id=f.view,
            after={
                "filter": {k: v for k, v in dataclasses.asdict(f).items() if v not in (None, "")},
                "rows": len(rows),
            },
            reason="CSV export of a lead list",
        )
    return text, len(rows)
