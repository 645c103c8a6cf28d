"""Intake sources: REST API keys (shown once, stored as SHA-256), and shared secrets for signed webhooks
(social-ad lead forms, telephony call records, inbound mail), checked by the webhook inbox's schemes
(crm.core.inbox.signatures). Rotating a webhook secret keeps the previous one valid for a day."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from crm.core.audit.service import record_audit
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import ValidationFailed
from crm.core.permissions import Permission
from crm.core.scope import in_scope
from crm.leads.tags import LeadsTag

KINDS = {
    "api": "REST API key",
    "webhook": "Lead-form webhook (signed)",
    "telephony": "Call-record webhook (signed)",
    "email": "Inbound e-mail webhook (signed)",
}
SCHEMES = {
    "timestamped": "Signed with a timestamp (X-Crm-Signature)",
    "body": "Body signature only (X-Hub-Signature-256), for senders that cannot send a timestamp",
}
ROTATION_GRACE = dt.timedelta(hours=24)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_source(
    actor: Actor,
    *,
    name: str,
    kind: str,
    entity_id: int | None,
    source_label: str = "",
    signature_scheme: str = "timestamped",
) -> tuple[dict, str]:
    """A new source and its credential (an API key or a webhook secret), returned once."""
    name = " ".join(name.split())
    errors = {}
    if signature_scheme not in SCHEMES:
        errors["signature_scheme"] = "Choose how the sender signs."
    if not 3 <= len(name) <= 80:
        errors["name"] = "3 to 80 characters."
    if kind not in KINDS:
        errors["kind"] = "Choose a kind."
    if entity_id is None or not actor.can(Permission.LEADS_ROUTING_MANAGE, entity_id):
        errors["entity"] = "Choose an entity you manage."
    if errors:
        raise ValidationFailed("Please correct the source", field_errors=errors)
    credential = ("crmk_" if kind == "api" else "whsec_") + secrets.token_urlsafe(32)
    async with transaction():
        if await fetch("SELECT 1 FROM lead_source WHERE name = $1", name):
            raise ValidationFailed("Name taken", field_errors={"name": "Another source has this name."})
        row = await current_connection().fetchrow(
            "INSERT INTO lead_source (name, kind, entity_id, source_label, api_key_hash, key_prefix, secret, "
            "previous_secret, previous_secret_until, signature_scheme, active, created_by_id, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, '', NULL, $8, true, $9, now()) RETURNING *",
            name,
            kind,
            entity_id,
            source_label.strip().lower()[:60],
            _hash(credential) if kind == "api" else None,
            credential[:10],
            "" if kind == "api" else credential,
            signature_scheme,
            actor.user_id,
        )
        await record_audit(
            actor,
            LeadsTag.SOURCE_CREATE,
            target_type="lead_source",
            target_id=row["id"],
            target_label=name,
            entity_id=entity_id,
            after={"kind": kind, "key_prefix": credential[:10], "signature_scheme": signature_scheme},
        )
    return dict(row), credential


async def _locked_source(actor: Actor, source_id: int, reason: str) -> dict:
    """A source the actor manages, locked for a change that needs a reason (call inside a transaction)."""
    if not reason.strip():
        raise ValidationFailed("Say why", field_errors={"reason": "A reason is required."})
    row = await current_connection().fetchrow("SELECT * FROM lead_source WHERE id = $1 FOR UPDATE", source_id)
    return in_scope(actor, Permission.LEADS_ROUTING_MANAGE, row, "Source")


async def rotate(actor: Actor, source_id: int, reason: str) -> str:
    """A new credential, returned once. An API key stops working at once; a webhook's previous secret is still
    accepted for ROTATION_GRACE, so the sender can switch without losing events."""
    async with transaction():
        row = await _locked_source(actor, source_id, reason)
        credential = ("crmk_" if row["kind"] == "api" else "whsec_") + secrets.token_urlsafe(32)
        webhook = row["kind"] != "api"
        await current_connection().execute(
            "UPDATE lead_source SET api_key_hash = $2, secret = $3, key_prefix = $4, previous_secret = $5, "
            "previous_secret_until = $6 WHERE id = $1",
            source_id,
            None if webhook else _hash(credential),
            credential if webhook else "",
            credential[:10],
            row["secret"] if webhook else "",
            dt.datetime.now(dt.UTC) + ROTATION_GRACE if webhook else None,
        )
        await record_audit(
            actor,
            LeadsTag.SOURCE_ROTATE,
            target_type="lead_source",
            target_id=source_id,
            target_label=row["name"],
            entity_id=row["entity_id"],
            before={"key_prefix": row["key_prefix"]},
            after={"key_prefix": credential[:10]},
            reason=reason,
        )
    return credential


async def set_active(actor: Actor, source_id: int, active: bool, reason: str) -> None:
    async with transaction():
        row = await _locked_source(actor, source_id, reason)
        await current_connection().execute(
            "UPDATE lead_source SET active = $2 WHERE id = $1", source_id, active
        )
        await record_audit(
            actor,
            LeadsTag.SOURCE_ENABLE if active else LeadsTag.SOURCE_DISABLE,
            target_type="lead_source",
            target_id=source_id,
            target_label=row["name"],
            entity_id=row["entity_id"],
            before={"active": row["active"]},
            after={"active": active},
            reason=reason,
        )


async def list_sources(actor: Actor) -> list[dict]:
    return [
        dict(r)
        for r in await fetch(
            "SELECT s.id, s.name, s.kind, s.entity_id, s.source_label, s.key_prefix, s.active, s.created_at, "
            "e.code AS entity_code, "
            "(SELECT count(*) FROM lead l WHERE l.source_id = s.id) AS leads FROM lead_source s "
            "LEFT JOIN legal_entity e ON e.id = s.entity_id WHERE s.entity_id = ANY($1::int[]) ORDER BY "
            "s.name",
            actor.entities_with(Permission.LEADS_ROUTING_MANAGE) or [-1],
        )
    ]


async def source_for_key(key: str) -> dict | None:
    """The active API source whose key this is (compared by hash; unknown keys and webhook sources give
    None)."""
    if not key or not key.startswith("crmk_"):
        return None
    rows = await fetch(
        "SELECT * FROM lead_source WHERE api_key_hash = $1 AND kind = 'api' AND active", _hash(key)
    )
    return dict(rows[0]) if rows else None


async def source_named(name: str, kind: str, *, active_only: bool = True) -> dict | None:
    """The source of this kind by its name (an inbox event already stored is processed even if it was disabled
    since)."""
    rows = await fetch(
        "SELECT * FROM lead_source WHERE name = $1 AND kind = $2 AND (active OR NOT $3)",
        name[:80],
        kind,
        active_only,
    )
    return dict(rows[0]) if rows else None


def active_secrets(source: dict, now: dt.datetime | None = None) -> list[str]:
    """The secrets a webhook of this source may be signed with: the current one, then the previous one while
    its grace period lasts."""
    now = now or dt.datetime.now(dt.UTC)
    keep_previous = source.get("previous_secret") and (source.get("previous_secret_until") or now) > now
    return [source["secret"], *([source["previous_secret"]] if keep_previous else [])]
