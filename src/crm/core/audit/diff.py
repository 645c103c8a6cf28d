"""An audit row's before/after as a reader wants it: the named fields that changed, each with its old and new
value as text (a nested value in compact JSON), fields that did not change left out."""

from __future__ import annotations

import json
from typing import Any

MISSING = "—"


def _text(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def label(field: str) -> str:
    return field.replace("_", " ").strip().capitalize()


def field_changes(before: Any, after: Any) -> list[dict]:
    """[{"field", "label", "before", "after"}] for every field whose value differs; a value that is not an
    object on either side is one field named "value"."""
    old = before if isinstance(before, dict) else ({} if before is None else {"value": before})
    new = after if isinstance(after, dict) else ({} if after is None else {"value": after})
    changes = []
    for field in [*old, *(k for k in new if k not in old)]:
        was, now = old.get(field), new.get(field)
        if was != now:
            changes.append({"field": field, "label": label(field), "before": _text(was), "after": _text(now)})
    return changes
