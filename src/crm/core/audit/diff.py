"""An audit row's before/after as a reader wants it: the named fields that changed, each with its old and new
value as text (a nested value in compact JSON), fields that did not change left out."""

from __future__ import annotations

import json
from typing import Any

from crm.core.labels import LABELS

MISSING = "—"
# Fields whose values are codes with words in the label registry: (record type or "*", field) -> kind.
VALUE_KINDS = {
    ("case", "status"): "case_status",
    ("case", "resolution"): "case_resolution",
    ("case", "kind"): "case_kind",
    ("lead", "status"): "lead_status",
    ("client", "status"): "client_status",
    ("role_assignment", "status"): "assignment_status",
    ("*", "role"): "role",
    ("*", "permissions"): "permission",
}


def _text(value: Any, kind: str | None = None) -> str:
    if value is None:
        return MISSING
    if kind and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(LABELS.text(kind, v) for v in value) or MISSING
    if kind and isinstance(value, str):
        return LABELS.text(kind, value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def label(field: str) -> str:
    return field.replace("_", " ").strip().capitalize()


def field_changes(before: Any, after: Any, record_type: str = "") -> list[dict]:
    """[{"field", "label", "before", "after"}] for every field whose value differs; a value that is not an
    object on either side is one field named "value". Codes (statuses, permissions) read as their words."""
    old = before if isinstance(before, dict) else ({} if before is None else {"value": before})
    new = after if isinstance(after, dict) else ({} if after is None else {"value": after})
    changes = []
    for field in [*old, *(k for k in new if k not in old)]:
        was, now = old.get(field), new.get(field)
        if was != now:
            kind = VALUE_KINDS.get((record_type, field)) or VALUE_KINDS.get(("*", field))
            changes.append(
                {"field": field, "label": label(field), "before": _text(was, kind), "after": _text(now, kind)}
            )
    return changes
