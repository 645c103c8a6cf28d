"""Searching the audit trail: scoped to the actor's entities, keyset-paginated on the chain sequence.

A date range is first turned into a sequence range (time and sequence grow together because the timestamp
is taken under the chain lock), so every filter runs as an index range scan ordered by `seq`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from crm.core.audit.service import record_audit
from crm.core.audit.tags import AuditTag
from crm.core.context import Actor
from crm.core.db import fetch, transaction
from crm.core.errors import ValidationFailed
from crm.core.exports import csv_text
from crm.core.inputs import parse_date, parse_int
from crm.core.permissions import Permission

PAGE_SIZE = 50
COLUMNS = (
    "seq, occurred_at, actor_id, actor_label, on_behalf_of_label, action, target_type, target_id, "
    "target_label, "
    "entity_id, client_id, before, after, reason, case_id, ip, user_agent, request_id, session_id"
)


@dataclass
class AuditFilter:
    client_id: int | None = None
    actor_id: int | None = None
    entity_id: int | None = None
    action: str = ""  # exact tag, or a prefix ending in ":" (e.g. "access:")
    target_type: str = ""
    target_id: str = ""
    case_id: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive
    before_seq: int | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: dict[str, str]) -> AuditFilter:
        f = cls()
        for name in ("client_id", "actor_id", "entity_id", "before_seq"):
            raw = (params.get(name) or "").strip()
            if raw:
                if parse_int(raw) is not None:
                    setattr(f, name, parse_int(raw))
                else:
                    f.errors[name] = "Enter a whole number."
        for name in ("action", "target_type", "target_id", "case_id"):
            setattr(f, name, (params.get(name) or "").strip()[:100])
        for name in ("date_from", "date_to"):
            raw = (params.get(name) or "").strip()
            if raw:
                day = parse_date(raw)
                if day is None:
                    f.errors[name] = "Use a date (YYYY-MM-DD) between 1900 and 9998."
                setattr(f, name, day)
        if f.date_from and f.date_to and f.date_from > f.date_to:
            f.errors["date_to"] = "The end is before the start."
        return f

    def query_string(self, **override) -> str:
        from urllib.parse import urlencode

        values = {
            "client_id": self.client_id,
            "actor_id": self.actor_id,
            "entity_id": self.entity_id,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "case_id": self.case_id,
            "date_from": self.date_from,
            "date_to": self.date_to,
        } | override
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


async def _seq_bounds(date_from: dt.date | None, date_to: dt.date | None) -> tuple[int | None, int | None]:
    low = high = None
    if date_from:
        start = dt.datetime.combine(date_from, dt.time(), dt.UTC)
        rows = await fetch(
            "SELECT seq FROM audit_record WHERE occurred_at >= $1 ORDER BY occurred_at LIMIT 1", start
        )
        low = rows[0]["seq"] if rows else 2**62
    if date_to:
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), dt.UTC)
        rows = await fetch(
            "SELECT seq FROM audit_record WHERE occurred_at < $1 ORDER BY occurred_at DESC LIMIT 1", end
        )
        high = rows[0]["seq"] if rows else 0
    return low, high


async def _holds_everywhere(actor: Actor) -> bool:
    active = [r["id"] for r in await fetch("SELECT id FROM legal_entity WHERE active")]
    return bool(active) and all(actor.can(Permission.AUDIT_RECORD_VIEW, e) for e in active)


async def search_audit(
    actor: Actor, f: AuditFilter, *, limit: int = PAGE_SIZE
) -> tuple[list[dict], int | None]:
    """One page of rows (newest first) and the `before_seq` of the next page, or None at the end."""
    if f.errors:
        raise ValidationFailed("Please correct the filters", field_errors=f.errors)
    entities = actor.entities_with(Permission.AUDIT_RECORD_VIEW)
    if f.entity_id is not None:
        entities = [e for e in entities if e == f.entity_id]
    # Rows with no entity (group-wide: role definitions, unknown-email sign-ins) are for group-level auditors,
    # who hold the permission in every active entity, and only when no single entity is chosen.
    group_level = f.entity_id is None and actor.focus_entity_id is None and await _holds_everywhere(actor)
    # Only rows of the chain: one appended past its head (around the writer) is not shown as a record; `crm
    # audit verify` reports it.
    where = [
        "(entity_id = ANY($1::int[]) OR (entity_id IS NULL AND $2))",
        "seq BETWEEN 1 AND (SELECT seq FROM audit_chain_head WHERE id = 1)",
    ]
    args: list = [entities or [-1], group_level]

    def add(clause: str, value) -> None:
        args.append(value)
        where.append(clause.replace("?", f"${len(args)}"))

    if f.client_id is not None:
        add("client_id = ?", f.client_id)
    if f.actor_id is not None:
        add("actor_id = ?", f.actor_id)
    if f.action.endswith(":"):
        add("action LIKE ?", f.action.replace("%", "").replace("_", r"\_") + "%")
    elif f.action:
        add("action = ?", f.action)
    if f.target_type:
        add("target_type = ?", f.target_type)
    if f.target_id:
        add("target_id = ?", f.target_id)
    if f.case_id:
        add("case_id = ?", f.case_id)
    low, high = await _seq_bounds(f.date_from, f.date_to)
    if low is not None:
        add("seq >= ?", low)
    if high is not None:
        add("seq <= ?", high)
    if f.before_seq is not None:
        add("seq < ?", f.before_seq)
    args.append(limit + 1)
    sql = (
        f"SELECT {COLUMNS} FROM audit_record WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ${len(args)}"  # noqa: S608
    )
    rows = [dict(r) for r in await fetch(sql, *args)]
    for row in rows:
        for name in ("before", "after"):
            if row[name] is not None:
                row[name] = json.loads(row[name])
    next_seq = rows[limit - 1]["seq"] if len(rows) > limit else None
    return rows[:limit], next_seq


async def rows_for_case(actor: Actor, case_id: str) -> list[dict]:
    rows, _ = await search_audit(actor, AuditFilter(case_id=case_id), limit=500)
    return rows


EXPORT_LIMIT = 100_000
EXPORT_COLUMNS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_label",
    "on_behalf_of_label",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "entity_id",
    "client_id",
    "before",
    "after",
    "reason",
    "case_id",
    "ip",
    "user_agent",
    "request_id",
    "session_id",
)


async def export_csv(actor: Actor, f: AuditFilter) -> str:
    """The rows the actor may see under the filter, as CSV (formula-safe); the export is itself audited."""
    rows, _ = await search_audit(actor, f, limit=EXPORT_LIMIT)
    async with transaction():
        await record_audit(
            actor,
            AuditTag.RECORD_EXPORT,
            target_type="audit_export",
            after={"filters": f.query_string(), "rows": len(rows)},
        )
    return csv_text(
        EXPORT_COLUMNS,
        (
            [
                json.dumps(row[c], sort_keys=True)
                if c in ("before", "after") and row[c] is not None
                else row[c]
                for c in EXPORT_COLUMNS
            ]
            for row in rows
        ),
    )
