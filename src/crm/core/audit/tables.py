"""The audit trail: append-only rows, each hashed over its content and the previous row's hash."""

from piccolo.columns import BigInt, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class AuditRecord(Table, tablename="audit_record"):
    """One sensitive action. UPDATE, DELETE and TRUNCATE are refused by triggers (see migrations/audit)."""

    seq = BigInt(primary_key=True)
    occurred_at = Timestamptz()
    actor_id = Integer(null=True, default=None)
    actor_label = Varchar(length=200)
    on_behalf_of_id = Integer(null=True, default=None)
    on_behalf_of_label = Varchar(length=200, null=True, default=None)
    action = Varchar(length=100)
    target_type = Varchar(length=50)
    target_id = Varchar(length=64, null=True, default=None)
    target_label = Varchar(length=200, null=True, default=None)
    entity_id = Integer(null=True, default=None)
    client_id = Integer(null=True, default=None)
    # JSON text exactly as hashed (see chain.json_text); text, not jsonb, so verification never re-encodes it.
    before = Text(null=True, default=None)
    after = Text(null=True, default=None)
    reason = Text(null=True, default=None)
    case_id = Varchar(length=32, null=True, default=None)
    ip = Varchar(length=64, null=True, default=None)
    user_agent = Text(null=True, default=None)
    request_id = Varchar(length=64, null=True, default=None)
    session_id = Varchar(length=64, null=True, default=None)
    prev_hash = Varchar(length=64)
    row_hash = Varchar(length=64)


class AuditChainHead(Table, tablename="audit_chain_head"):
    """A single row (id 1) holding the last sequence number and hash; locked FOR UPDATE by each writer."""

    seq = BigInt(default=0)
    row_hash = Varchar(length=64)
