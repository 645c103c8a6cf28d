"""Canonical content and hashing of audit rows: the one definition shared by the writer and the verifier."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

GENESIS_HASH = "0" * 64

# Every column the hash covers, in a fixed order. Adding a column means a new chain format; never reorder.
HASHED_FIELDS = (
    "occurred_at", "actor_id", "actor_label", "on_behalf_of_id", "on_behalf_of_label", "action",
    "target_type", "target_id", "target_label", "entity_id", "client_id", "before", "after", "reason",
    "case_id", "ip", "user_agent", "request_id", "session_id",
)


def normalise(value: Any) -> Any:
    """Turn a before/after value into plain JSON that survives a jsonb round trip unchanged.

    Floats become strings (jsonb would rewrite 1e+20 as an integer), money stays exact as a string, and NUL
    characters, which jsonb refuses, are replaced.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, float | decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return normalise(value.value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(normalise(v) for v in value)
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    return str(value)


def canonical_content(row: Mapping[str, Any]) -> str:
    """The exact text hashed for a row: its hashed fields as compact, key-sorted JSON (before/after decoded)."""
    values = {}
    for name in HASHED_FIELDS:
        value = row[name]
        if name == "occurred_at":
            value = value.astimezone(dt.UTC).isoformat(timespec="microseconds")
        values[name] = value
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, seq: int, content: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{content}".encode()).hexdigest()
