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
    "occurred_at",
    "actor_id",
    "actor_label",
    "on_behalf_of_id",
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


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_encode_sorted = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def json_text(value: Any) -> str | None:
    """The exact JSON text stored (and hashed) for a before/after value: normalised, compact, keys sorted."""
    return None if value is None else _encode_sorted(normalise(value))


def canonical_content(row: Mapping[str, Any]) -> str:
    """The exact text hashed for a row: its hashed fields, in HASHED_FIELDS order, as a compact JSON array.

    before/after are already JSON text (as stored), so the verifier never parses them.
    """
    values = [row[name] for name in HASHED_FIELDS]
    values[0] = values[0].astimezone(dt.UTC).isoformat(timespec="microseconds")
    return _encode(values)


def canonical_rest(values: list) -> str:
    """canonical_content without its opening `["<occurred_at>",`: the writer's part, for values in
    HASHED_FIELDS order after occurred_at (PostgreSQL adds the time it takes under the chain lock; see
    audit/service.py)."""
    return _encode(values)[1:]


def canonical_from_values(values: list) -> str:
    """canonical_content for values already in HASHED_FIELDS order with occurred_at as ISO text (the
    verifier)."""
    return _encode(values)


# The same ISO-8601 text as datetime.isoformat(timespec="microseconds") for a UTC time, made by PostgreSQL so
# the verifier does not build a datetime per row.
SQL_ISO_OCCURRED_AT = "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'"


def chain_hash(prev_hash: str, seq: int, content: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{content}".encode()).hexdigest()
