"""Writing audit rows. Call `record_audit` inside the transaction that makes the change it describes."""

from __future__ import annotations

from typing import Any

from crm.core.audit.chain import HASHED_FIELDS, canonical_rest, json_text
from crm.core.context import Actor
from crm.core.db import current_connection

# One statement: lock the chain head, take the time under the lock (so time order is chain order), hash the
# row exactly as `chain.chain_hash(prev, seq, canonical_content(row))` does (PostgreSQL's sha256 over the same
# UTF-8 text: the canonical JSON array with occurred_at first, its rest built by Python as $19), append, move
# the head.
_APPEND = """
WITH head AS (SELECT seq, row_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE),
stamped AS (
    SELECT head.seq + 1 AS seq, head.row_hash AS prev_hash, t.at,
           '["' || to_char(t.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00",'
               || $19::text AS content
    FROM head, LATERAL (SELECT clock_timestamp() AS at) t
), ins AS (
    INSERT INTO audit_record (
        seq, occurred_at, actor_id, actor_label, on_behalf_of_id, on_behalf_of_label, action, target_type,
        target_id, target_label, entity_id, client_id, before, after, reason, case_id, ip, user_agent,
        request_id, session_id, prev_hash, row_hash)
    SELECT s.seq, s.at, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
        s.prev_hash,
           encode(sha256(convert_to(s.prev_hash || E'\\n' || s.seq || E'\\n' || s.content, 'UTF8')), 'hex')
    FROM stamped s
    RETURNING seq, row_hash
)
UPDATE audit_chain_head SET seq = ins.seq, row_hash = ins.row_hash FROM ins WHERE audit_chain_head.id = 1
RETURNING audit_chain_head.seq
"""


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    return str(value).replace("\x00", "\ufffd")[:limit]


async def record_audit(
    actor: Actor,
    action: str,
    *,
    target_type: str,
    target_id: Any = None,
    target_label: str | None = None,
    entity_id: int | None = None,
    client_id: int | None = None,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    case_id: str | None = None,
) -> int:
    """Append one audit row to the chain in the current transaction and return its sequence number.

    `action` is a tag `area:subject:action`. The chain head row is locked until the transaction ends, so rows
    are chained in commit order and a rolled-back change leaves no audit row behind.
    """
    row = {
        "actor_id": actor.user_id,
        "actor_label": _text(actor.label, 200),
        "on_behalf_of_id": actor.on_behalf_of_id,
        "on_behalf_of_label": _text(actor.on_behalf_of_label, 200),
        "action": action,
        "target_type": target_type,
        "target_id": _text(target_id, 64),
        "target_label": _text(target_label, 200),
        "entity_id": entity_id,
        "client_id": client_id,
        "before": json_text(before),
        "after": json_text(after),
        "reason": _text(reason, 4000),
        "case_id": case_id,
        "ip": _text(actor.meta.ip, 64),
        "user_agent": _text(actor.meta.user_agent, 1000),
        "request_id": _text(actor.meta.request_id, 64),
        "session_id": _text(actor.meta.session_id, 64),
    }
    values = [row[name] for name in HASHED_FIELDS[1:]]
    return await current_connection().fetchval(_APPEND, *values, canonical_rest(values))
