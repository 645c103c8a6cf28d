"""The inbox row: the raw event as received, how it was verified, and what processing it did."""

from enum import StrEnum

from piccolo.columns import JSONB, Boolean, Bytea, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from crm.core.labels import LABELS


class InboxStatus(StrEnum):
    RECEIVED = "received"  # verified and stored; its job is queued
    DONE = "done"  # processed; `outcome` says what it did
    PARTIAL = "partial"  # processed, but some items of it were refused (named in `outcome`)
    FAILED = "failed"  # processing failed (retried while attempts last; re-run from the inbox screen)
    REJECTED = "rejected"  # refused at the door: bad signature, stale timestamp or malformed; never processed


class WebhookEvent(Table, tablename="webhook_event"):
    """One received webhook. Unique on (provider, event_id): a replay finds its row and does nothing."""

    provider = Varchar(length=40)  # e.g. "leads.form", "leads.telephony", "leads.email"
    endpoint = Varchar(length=120)  # the sender's account here (an intake source's name ...)
    event_id = Varchar(length=200)  # the sender's own id, else "sha256:" + the body's hash
    entity_id = Integer(null=True, default=None)
    received_at = Timestamptz(default=TimestamptzNow())
    remote_ip = Varchar(length=45, default="")
    request_id = Varchar(length=64, default="")
    headers = JSONB(default="{}")
    body = Bytea()
    body_sha256 = Varchar(length=64)
    body_size = Integer(default=0)
    signature_scheme = Varchar(length=40, default="")
    verified = Boolean(default=False)
    verification = Text(default="")
    status = Varchar(length=20, choices=InboxStatus, index=True)
    attempts = Integer(default=0)
    outcome = JSONB(default="{}")
    error = Text(default="")
    processed_at = Timestamptz(null=True, default=None)


LABELS.add(
    "inbox_status",
    {
        InboxStatus.RECEIVED: "Received",
        InboxStatus.DONE: "Processed",
        InboxStatus.PARTIAL: "Partly processed",
        InboxStatus.FAILED: "Failed",
        InboxStatus.REJECTED: "Rejected at the door",
    },
    {
        InboxStatus.RECEIVED: "info",
        InboxStatus.DONE: "ok",
        InboxStatus.PARTIAL: "warn",
        InboxStatus.FAILED: "danger",
        InboxStatus.REJECTED: "danger",
    },
)
