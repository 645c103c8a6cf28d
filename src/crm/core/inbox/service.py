"""The webhook inbox: store a verified event once, process it in a job, record what happened.

The HTTP side (crm/webhooks) reads the raw body, verifies its signature (signatures.py) and calls `receive`,
which stores the event under its (provider, event id) and, in the same transaction, queues the `inbox.process`
job; the sender gets its answer at once. A replay finds the stored row and queues nothing. The job runs the
provider's registered processor in a savepoint of one transaction with the row locked, so the processor's
writes and the row's outcome commit together: a worker killed half-way leaves the event as received, to be
done again. A processor returns its outcome (items it refused under "refused"); a `DomainError` means the
event can never succeed as sent (failed, not retried); anything else is retried with backoff. Staff re-run a
failed event from the inbox screen (`rerun`, audited).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crm.core.audit.service import record_audit
from crm.core.audit.tags import SystemTag
from crm.core.context import Actor, RequestMeta
from crm.core.db import current_connection, fetch, savepoint, transaction
from crm.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from crm.core.inbox.signatures import Verification
from crm.core.inbox.tables import InboxStatus
from crm.core.jobs import JobFailed, JobRun, enqueue, job
from crm.core.permissions import Permission
from crm.core.scope import group_level, in_group_scope, sees

MAX_BODY = 1_000_000  # bytes a sender may post; more is refused before anything is stored
KEPT_OF_REJECTED = 65_536  # a refused request keeps this much of its body, for the operator
SKIPPED_HEADERS = {"authorization", "cookie", "proxy-authorization"}


@dataclass(frozen=True)
class InboxEvent:
    """What a processor gets: the stored event."""

    id: int
    provider: str
    endpoint: str
    event_id: str
    entity_id: int | None
    headers: dict
    body: bytes
    received_at: dt.datetime
    attempts: int
    meta: (
        RequestMeta  # the sender's request (IP, user agent, request id), for the audit rows processing writes
    )

    def json(self) -> Any:
        return json.loads(self.body)


Processor = Callable[[InboxEvent], Awaitable[dict]]


@dataclass(frozen=True)
class Provider:
    """A family of events and how to act on one. `label` names it on the inbox screen."""

    name: str
    label: str
    process: Processor


_PROVIDERS: dict[str, Provider] = {}


def register_provider(provider: Provider) -> Provider:
    _PROVIDERS[provider.name] = provider
    return provider


def providers() -> list[Provider]:
    return sorted(_PROVIDERS.values(), key=lambda p: p.label)


@dataclass(frozen=True)
class Receipt:
    id: int
    status: str  # "received", "duplicate" (a replay: nothing done) or "rejected"
    event_id: str


def body_event_id(body: bytes) -> str:
    """The event id of a sender that gives none: the body's hash (a replay of the same bytes is the same
    event)."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): str(v)[:1000] for k, v in headers.items() if k.lower() not in SKIPPED_HEADERS}


_STORE = """
INSERT INTO webhook_event (provider, endpoint, event_id, entity_id, received_at, remote_ip, request_id,
    headers, body,
                           body_sha256, body_size, signature_scheme, verified, verification, status, attempts,
                           outcome,
                           error, processed_at)
VALUES ($1, $2, $3, $4, now(), $14, $15, $5::jsonb, $6, $7, $8, $9, $10, $11, $12, 0, '{}'::jsonb, $13, NULL)
ON CONFLICT (provider, event_id) DO NOTHING
RETURNING id
"""


async def receive(
    actor: Actor,
    *,
    provider: str,
    endpoint: str,
    entity_id: int | None,
    body: bytes,
    headers: Mapping[str, str],
    scheme: str,
    verification: Verification,
    event_id: str | None,
    refusal: str = "",
) -> Receipt:
    """Store one webhook request and, if it was verified and is new, queue its processing.

    A request that failed verification, or that the door found malformed (`refusal`), is kept as rejected
    (under an id of its own, so it never blocks the real event) with the start of its body."""
    if provider not in _PROVIDERS:
        raise LookupError(f"no inbox provider {provider!r} is registered")
    digest = hashlib.sha256(body).hexdigest()
    accepted = verification.ok and not refusal
    stored_id = (event_id or body_event_id(body))[:200] if accepted else f"rejected:{uuid.uuid4().hex}"
    kept = body if accepted else body[:KEPT_OF_REJECTED]
    async with transaction():
        conn = current_connection()
        row_id = await conn.fetchval(
            _STORE,
            provider,
            endpoint[:120],
            stored_id,
            entity_id,
            json.dumps(kept_headers(headers)),
            kept,
            digest,
            len(body),
            scheme,
            verification.ok,
            verification.reason,
            InboxStatus.RECEIVED if accepted else InboxStatus.REJECTED,
            refusal[:2000],
            (actor.meta.ip or "")[:45],
            actor.meta.request_id[:64],
        )
        if row_id is None:  # seen before: the replay is answered and nothing more happens
            earlier = await conn.fetchval(
                "SELECT id FROM webhook_event WHERE provider = $1 AND event_id = $2", provider, stored_id
            )
            return Receipt(earlier, "duplicate", stored_id)
        if not accepted:
            return Receipt(row_id, "rejected", stored_id)
        await enqueue(
            actor,
            "inbox.process",
            entity_id=entity_id,
            subject_type="webhook_event",
            subject_id=row_id,
            inbox_id=row_id,
        )
    return Receipt(row_id, "received", stored_id)


def _event(row) -> InboxEvent:
    headers = row["headers"]
    headers = json.loads(headers) if isinstance(headers, str) else dict(headers)
    meta = RequestMeta(
        ip=row["remote_ip"] or None,
        user_agent=headers.get("user-agent"),
        request_id=row["request_id"] or f"inbox-{row['id']}",
    )
    return InboxEvent(
        row["id"],
        row["provider"],
        row["endpoint"],
        row["event_id"],
        row["entity_id"],
        headers,
        bytes(row["body"]),
        row["received_at"],
        row["attempts"],
        meta,
    )


_FINISH = """
UPDATE webhook_event SET status = $2, attempts = attempts + 1, outcome = $3::jsonb, error = $4,
    processed_at = now()
WHERE id = $1
"""

_DONE_STATUSES = (InboxStatus.DONE, InboxStatus.PARTIAL, InboxStatus.REJECTED)


@job("inbox.process", max_attempts=5, timeout_s=300, retry_delay_s=5, label="Webhook processing")
async def process(run: JobRun, inbox_id: int) -> dict:
    """Run the provider's processor on one stored event (a processed one is left alone: running twice is
    safe)."""
    failure: BaseException | None = None
    async with transaction():
        conn = current_connection()
        row = await conn.fetchrow("SELECT * FROM webhook_event WHERE id = $1 FOR UPDATE", inbox_id)
        if row is None or row["status"] in _DONE_STATUSES:
            return {"inbox_id": inbox_id, "skipped": row["status"] if row else "gone"}
        provider = _PROVIDERS[row["provider"]]
        try:
            async with savepoint():
                outcome = await provider.process(_event(row))
        except DomainError as exc:  # the event cannot succeed as sent: record why, do not retry
            outcome, failure = {"error": exc.message, "fields": exc.field_errors}, exc
        except Exception as exc:  # anything else may pass next time: record it, then let the job retry
            outcome, failure = {}, exc
        status = (
            InboxStatus.FAILED
            if failure is not None
            else InboxStatus.PARTIAL
            if outcome.get("refused")
            else InboxStatus.DONE
        )
        error = (
            ""
            if failure is None
            else (
                failure.message
                if isinstance(failure, DomainError)
                else f"{type(failure).__name__}: {failure}"
            )
        )
        await conn.execute(_FINISH, inbox_id, status, json.dumps(outcome, default=str), error[:4000])
    output = {"inbox_id": inbox_id, "provider": row["provider"], "status": status, **outcome}
    if failure is not None and not isinstance(failure, DomainError):
        raise failure
    if status != InboxStatus.DONE:
        raise JobFailed(error or f"{len(outcome['refused'])} item(s) refused", output)
    return output


async def _locked(actor: Actor, inbox_id: int, permission: Permission) -> dict:
    row = await current_connection().fetchrow(
        "SELECT * FROM webhook_event WHERE id = $1 FOR UPDATE", inbox_id
    )
    return await in_group_scope(actor, permission, row, "Webhook event")


async def _may(actor: Actor, permission: Permission, entity_id: int | None) -> bool:
    return (
        sees(actor, permission, entity_id) if entity_id is not None else await group_level(actor, permission)
    )


async def rerun(actor: Actor, inbox_id: int, reason: str) -> None:
    """Process a failed (or partly refused) event again, e.g. after fixing what refused it; audited."""
    if not reason.strip():
        raise ValidationFailed("Say why", field_errors={"reason": "A reason is required."})
    async with transaction():
        row = await _locked(actor, inbox_id, Permission.SYSTEM_JOBS_MANAGE)
        if row["status"] not in (InboxStatus.FAILED, InboxStatus.PARTIAL):
            raise Conflict(f"Only failed or partly refused events are run again; this one is {row['status']}")
        await current_connection().execute(
            "UPDATE webhook_event SET status = 'received', error = '' WHERE id = $1", inbox_id
        )
        await enqueue(
            actor,
            "inbox.process",
            entity_id=row["entity_id"],
            subject_type="webhook_event",
            subject_id=inbox_id,
            inbox_id=inbox_id,
        )
        await record_audit(
            actor,
            SystemTag.WEBHOOK_RERUN,
            target_type="webhook_event",
            target_id=inbox_id,
            target_label=f"{row['provider']} {row['event_id']}",
            entity_id=row["entity_id"],
            before={"status": row["status"], "error": row["error"]},
            after={"status": "received"},
            reason=reason.strip(),
        )


async def reveal_body(actor: Actor, inbox_id: int, reason: str) -> bytes:
    """The raw body of an event (it may hold personal data): for those who may reveal client data, audited."""
    if not reason.strip():
        raise ValidationFailed("Say why", field_errors={"reason": "A reason is required."})
    async with transaction():
        row = await _locked(actor, inbox_id, Permission.SYSTEM_AUTOMATION_VIEW)
        if not await _may(actor, Permission.CLIENTS_PII_REVEAL, row["entity_id"]):
            raise NotFound("Webhook event")
        await record_audit(
            actor,
            SystemTag.WEBHOOK_REVEAL,
            target_type="webhook_event",
            target_id=inbox_id,
            target_label=f"{row['provider']} {row['event_id']}",
            entity_id=row["entity_id"],
            after={"sha256": row["body_sha256"]},
            reason=reason.strip(),
        )
    return bytes(row["body"])


PAGE = 100


_LIST = """
SELECT id, provider, endpoint, event_id, entity_id, received_at, body_size, signature_scheme, verified,
    verification,
       status, attempts, error, processed_at
FROM webhook_event WHERE {where} ORDER BY id DESC LIMIT {limit}
"""


@dataclass
class InboxFilter:
    provider: str = ""
    status: str = ""
    endpoint: str = ""
    before_id: int | None = None


async def search(actor: Actor, f: InboxFilter) -> tuple[list[dict], int | None]:
    """Inbox rows the actor may see (their entities; rows of no entity for group-level staff), newest
    first."""
    entities = actor.entities_with(Permission.SYSTEM_AUTOMATION_VIEW)
    args: list[Any] = [entities or [-1], await group_level(actor, Permission.SYSTEM_AUTOMATION_VIEW)]
    where = ["(entity_id = ANY($1::int[]) OR (entity_id IS NULL AND $2))"]
    for column, value in (("provider", f.provider), ("status", f.status), ("endpoint", f.endpoint)):
        if value:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    if f.before_id is not None:
        args.append(f.before_id)
        where.append(f"id < ${len(args)}")
    sql = _LIST.format(where=" AND ".join(where), limit=PAGE + 1)
    rows = [dict(r) for r in await fetch(sql, *args)]
    return rows[:PAGE], rows[PAGE - 1]["id"] if len(rows) > PAGE else None


async def get(actor: Actor, inbox_id: int) -> dict:
    """One event without its body (see `reveal_body`), with whether the actor may reveal or re-run it."""
    rows = await fetch("SELECT * FROM webhook_event WHERE id = $1", inbox_id)
    row = await in_group_scope(
        actor, Permission.SYSTEM_AUTOMATION_VIEW, rows[0] if rows else None, "Webhook event"
    )
    row.pop("body")
    for name in ("headers", "outcome"):
        row[name] = json.loads(row[name]) if isinstance(row[name], str) else row[name]
    row["label"] = _PROVIDERS[row["provider"]].label if row["provider"] in _PROVIDERS else row["provider"]
    row["may_reveal"] = await _may(actor, Permission.CLIENTS_PII_REVEAL, row["entity_id"])
    row["may_rerun"] = row["status"] in (InboxStatus.FAILED, InboxStatus.PARTIAL) and await _may(
        actor, Permission.SYSTEM_JOBS_MANAGE, row["entity_id"]
    )
    return row
