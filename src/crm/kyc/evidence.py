"""One KYC timeline per client, for a reviewer or a regulator: every step as the audit trail recorded it
(registration and consents with the requirements version in force, e-mail confirmation, each document received
with its hashes, screening hits and every decision on them with the approvals of their cases, reveals of
personal data, views of documents), in order, each row with its place in the hash chain so it can be checked
against `crm audit verify`."""

from __future__ import annotations

import datetime as dt
import json

from crm.core.audit.diff import field_changes
from crm.core.context import Actor
from crm.core.db import fetch
from crm.core.labels import LABELS
from crm.core.pdf import lines_to_pdf
from crm.core.permissions import Permission
from crm.core.scope import in_scope

COLUMNS = (
    "seq, occurred_at, actor_label, on_behalf_of_label, action, target_type, target_id, target_label, "
    "before, after, reason, case_id, ip, row_hash"
)


def _decoded(value):
    if value in (None, ""):
        return None
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


async def timeline(actor: Actor, client_id: int) -> dict:
    """The client (in the actor's scope, else NotFound) and every audited step about them, oldest first."""
    rows = await fetch(
        "SELECT c.id, c.reference, c.first_name, c.last_name, c.country, c.entity, c.status, c.created_at, "
        "e.code AS entity_code, e.name AS entity_name, s.status AS screening FROM client c "
        "JOIN legal_entity e ON e.id = c.entity LEFT JOIN client_screening s ON s.client = c.id "
        "WHERE c.id = $1",
        client_id,
    )
    client = in_scope(actor, Permission.KYC_REVIEW_VIEW, rows[0] if rows else None, "Client", entity="entity")
    cases = [
        r["case_reference"]
        for r in await fetch(
            "SELECT DISTINCT c.reference AS case_reference FROM case_subject s "
            'JOIN work_case c ON c.id = s."case" '
            "WHERE s.subject_type = 'client' AND s.subject_id = $1",
            str(client_id),
        )
    ]
    steps = await fetch(
        f"SELECT {COLUMNS} FROM audit_record WHERE client_id = $1 "  # noqa: S608 (fixed columns)
        f"UNION SELECT {COLUMNS} FROM audit_record WHERE case_id = ANY($2::text[]) ORDER BY seq",
        client_id,
        cases,
    )
    client["steps"] = [
        dict(r) | {"before": _decoded(r["before"]), "after": _decoded(r["after"])} for r in steps
    ]
    client["cases"] = cases
    return client


def as_pdf(client: dict) -> bytes:
    """The timeline as a PDF a regulator can read and print: the client, then each step with who, from where,
    what changed, why, the case and the chain hash."""
    lines: list = [
        f"Client {client['reference']}: {client['first_name']} {client['last_name']}, {client['country']}",
        f"Entity: {client['entity_name']} ({client['entity_code']})",
        f"Registered: {client['created_at']:%Y-%m-%d %H:%M:%S} UTC",
        "Screening: "
        + (LABELS.text("screening_status", client["screening"]) if client["screening"] else "not screened"),
        f"Screening cases: {', '.join(client['cases']) or 'none'}",
        f"Produced: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC, {len(client['steps'])} steps",
        "",
    ]
    for s in client["steps"]:
        lines.append(
            (
                "bold",
                f"#{s['seq']}  {s['occurred_at']:%Y-%m-%d %H:%M:%S} UTC  "
                f"{LABELS.text('audit_action', s['action'])}",
            )
        )
        who = LABELS.actor(s["actor_label"]) + (
            f" for {s['on_behalf_of_label']}" if s["on_behalf_of_label"] else ""
        )
        lines.append(
            f"By {who}"
            + (f", from {s['ip']}" if s["ip"] else "")
            + (f", case {s['case_id']}" if s["case_id"] else "")
        )
        for change in field_changes(s["before"], s["after"], s["target_type"]):
            before = (
                f"{change['before']} -> "
                if s["before"] is not None and change["before"] not in ("", None)
                else ""
            )
            lines.append(f"    {change['label']}: {before}{change['after']}")
        if s["reason"]:
            lines.append(f"    Reason: {s['reason']}")
        lines.append(f"    Chain hash {s['row_hash']}")
    return lines_to_pdf(f"KYC evidence - {client['reference']}", lines)
