"""The audit screen's name pickers: suggestions as a person types (staff by name or e-mail, cases by
reference) and the reading of what they chose back into the ids the filter uses. A suggestion reads "Ana Ruiz
<ana@broker.example>" or "CASE-000042 · Withdrawal review"; the e-mail or the reference in it is what is
looked up, so a typed name that matches one person works too, and one that matches several asks to choose.

Only records inside the viewer's audit scope are suggested or resolved (clients come from the clients area's
own scoped search, through the portal)."""

from __future__ import annotations

import re

from crm.core.context import Actor
from crm.core.db import fetch
from crm.core.permissions import Permission

_EMAIL_IN = re.compile(r"<([^<>@\s]+@[^<>\s]+)>")
_REFERENCE = re.compile(r"\b([A-Z]{2,5}-[A-Z0-9]{3,})\b")

_STAFF = """
SELECT DISTINCT u.id, u.full_name, u.email FROM staff_user u
LEFT JOIN role_assignment a ON a."user" = u.id
WHERE (u.home_entity = ANY($1::int[]) OR a.entity = ANY($1::int[]))
  AND (lower(u.full_name) LIKE $2 OR lower(u.email) LIKE $2 OR lower(u.full_name) LIKE '% ' || $2)
ORDER BY u.full_name LIMIT $3
"""


def _like(text: str) -> str:
    return text.strip().lower().replace("\\", "").replace("%", "").replace("_", "\\_") + "%"


async def staff_suggestions(actor: Actor, text: str, limit: int = 10) -> list[dict]:
    entities = actor.entities_with(Permission.AUDIT_RECORD_VIEW)
    if len(text.strip()) < 2 or not entities:
        return []
    rows = await fetch(_STAFF, entities, _like(text), limit)
    return [{"id": r["id"], "text": f"{r['full_name']} <{r['email']}>"} for r in rows]


async def case_suggestions(actor: Actor, text: str, limit: int = 10) -> list[dict]:
    entities = actor.entities_with(Permission.AUDIT_RECORD_VIEW)
    if len(text.strip()) < 2 or not entities:
        return []
    rows = await fetch(
        "SELECT reference, title FROM work_case WHERE entity_id = ANY($1::int[]) AND reference LIKE $2 "
        "ORDER BY reference DESC LIMIT $3",
        entities,
        text.strip().upper().replace("%", "") + "%",
        limit,
    )
    return [{"id": r["reference"], "text": f"{r['reference']} · {r['title']}"} for r in rows]


async def resolve_staff(actor: Actor, text: str) -> tuple[int | None, str | None]:
    """(user id, None), or (None, why not) for what was typed in the staff picker."""
    text = text.strip()
    if not text:
        return None, None
    found = _EMAIL_IN.search(text)
    needle = (found.group(1) if found else text).lower()
    matches = await staff_suggestions(actor, needle, limit=3)
    exact = [
        m
        for m in matches
        if m["text"].lower().endswith(f"<{needle}>") or m["text"].lower().startswith(needle)
    ]
    chosen = exact if found else matches
    if len(chosen) == 1:
        return chosen[0]["id"], None
    if not chosen:
        return None, f"No staff member called “{text}” in the entities you audit."
    return None, f"“{text}” matches several people: choose one from the list."


def reference_in(text: str) -> str | None:
    """The record reference a picker's choice carries ("Maria Silva · CL-000123" → "CL-000123")."""
    found = _REFERENCE.search(text.upper())
    return found.group(1) if found else None


async def staff_label(user_id: int | None) -> str:
    if user_id is None:
        return ""
    rows = await fetch("SELECT full_name, email FROM staff_user WHERE id = $1", user_id)
    return f"{rows[0]['full_name']} <{rows[0]['email']}>" if rows else str(user_id)
