"""Scoped client reads with personal data masked, and the reasoned, time-boxed, audited reveal."""

from __future__ import annotations

import datetime as dt

from crm.clients.tables import Client, PiiReveal
from crm.clients.tags import ClientsTag
from crm.core.audit.service import record_audit
from crm.core.context import Actor
from crm.core.db import fetch, transaction
from crm.core.errors import ValidationFailed
from crm.core.masking import mask
from crm.core.permissions import Permission
from crm.core.scope import in_scope
from crm.core.search import Query, branch_union, name_branches
from crm.settings import Settings

# Fields masked on every staff screen; the value is the label shown to staff.
PII_FIELDS = {"email": "Email", "phone": "Phone", "id_number": "ID number", "bank_account": "Bank account"}
MIN_REASON = 5


async def list_clients(actor: Actor, *, search: str = "", limit: int = 100) -> list[dict]:
    """Clients in the entities where the actor may view clients, newest first, personal data masked."""
    entities = actor.entities_with(Permission.CLIENTS_CLIENT_VIEW)
    query = (
        Client.select(
            Client.id,
            Client.reference,
            Client.first_name,
            Client.last_name,
            Client.country,
            Client.status,
            Client.email,
            Client.phone,
            Client.created_at,
            Client.entity.code.as_alias("entity_code"),
        )
        .where(Client.entity.is_in(entities or [-1]))
        .order_by(Client.id, ascending=False)
        .limit(limit)
    )
    if search:
        # Search by reference or name only: searching by a masked field would leak it.
        term = f"%{search}%"
        query = query.where(
            Client.reference.ilike(term) | Client.first_name.ilike(term) | Client.last_name.ilike(term)
        )
    rows = await query
    for row in rows:
        for field in ("email", "phone"):
            row[field] = mask(field, row[field])
    return rows


_EXACT = {"reference": "c.reference = $2", "email": "lower(c.email) = $2", "phone": "c.phone = $2"}
_SELECT = "SELECT c.id, c.reference, c.first_name, c.last_name, c.status, c.entity FROM client c"


async def search_clients(actor: Actor, query: Query, limit: int = 10) -> list[dict]:
    """Clients for the global search (reference, exact e-mail or phone, never shown; or name prefix)."""
    entities = actor.entities_with(Permission.CLIENTS_CLIENT_VIEW)
    if query.kind not in (*_EXACT, "name") or not entities:
        return []
    scope = "array_position($1::int[], c.entity) IS NOT NULL"  # a filter, not an index (leads/search.py)
    if query.kind == "name":
        branches, extra = name_branches("c.first_name", "c.last_name", query.value, 2)
        found = branch_union(_SELECT, scope, branches, limit)
        order = "lower(f.last_name), lower(f.first_name), f.id"
    else:
        found, extra = f"{_SELECT} WHERE {scope} AND {_EXACT[query.kind]}", [query.value]
        order = "f.id DESC"
    async with transaction():
        if query.kind == "name":  # walk each name index in order, stop at the page (leads/search.py)
            await fetch("SET LOCAL enable_bitmapscan = off")
        rows = await fetch(
            f"""SELECT f.id, f.reference, f.first_name, f.last_name, f.status, e.code AS entity_code
            FROM ({found}) f JOIN legal_entity e ON e.id = f.entity
            ORDER BY {order} LIMIT {int(limit)}""",  # noqa: S608 (fixed fragments)
            entities,
            *extra,
        )
    return [dict(r) for r in rows]


async def get_client(actor: Actor, client_id: int) -> dict:
    """One client inside the actor's scope, personal fields masked unless this actor revealed them
    recently."""
    row = (
        await Client.select(Client.all_columns(), Client.entity.code.as_alias("entity_code"))
        .where(Client.id == client_id)
        .first()
    )
    row = in_scope(actor, Permission.CLIENTS_CLIENT_VIEW, row, "Client", entity="entity")
    revealed = await active_reveals(actor, client_id)
    row["pii"] = {
        field: {
            "label": label,
            "masked": field not in revealed,
            "value": row[field] if field in revealed else mask(field, row[field]),
            "expires_at": revealed.get(field),
            "empty": not row[field],
        }
        for field, label in PII_FIELDS.items()
    }
    for field in PII_FIELDS:
        row.pop(field)
    row["can_reveal"] = actor.can(Permission.CLIENTS_PII_REVEAL, row["entity"])
    linked = await fetch(
        "SELECT (SELECT reference FROM lead WHERE id = $2) AS lead_reference, a.id AS account_id, "
        "a.email_verified_at, a.last_login_at, a.locked_until FROM (SELECT 1) one "
        "LEFT JOIN client_account a ON a.client = $1",
        client_id,
        row["lead_id"],
    )
    row |= dict(linked[0])  # the lead they were; their client portal account
    return row


async def active_reveals(actor: Actor, client_id: int) -> dict[str, dt.datetime]:
    rows = await PiiReveal.select(PiiReveal.field, PiiReveal.expires_at).where(
        (PiiReveal.user == actor.user_id)
        & (PiiReveal.client == client_id)
        & (PiiReveal.expires_at > dt.datetime.now(dt.UTC))
    )
    return {r["field"]: r["expires_at"] for r in rows}


async def reveal_client_field(
    actor: Actor, client_id: int, field: str, reason: str, settings: Settings
) -> dict:
    """Show one masked field for a short window: permission, reason and an audit row are all required."""
    if field not in PII_FIELDS:
        raise ValidationFailed("Unknown field", field_errors={"field": "Choose a personal-data field."})
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationFailed(
            "A reason is required",
            field_errors={"reason": "Say why you need to see it (e.g. the call or case)."},
        )
    async with transaction():
        client = in_scope(
            actor,
            Permission.CLIENTS_CLIENT_VIEW,
            await Client.select().where(Client.id == client_id).first(),
            "Client",
            entity="entity",
        )
        actor.require(Permission.CLIENTS_PII_REVEAL, client["entity"])
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=settings.reveal_minutes)
        await PiiReveal.insert(
            PiiReveal(user=actor.user_id, client=client_id, field=field, reason=reason, expires_at=expires)
        )
        await record_audit(
            actor,
            ClientsTag.PII_REVEAL,
            target_type="client",
            target_id=client_id,
            target_label=client["reference"],
            entity_id=client["entity"],
            client_id=client_id,
            after={"field": field, "until": expires},
            reason=reason,
        )
    return {
        "field": field,
        "label": PII_FIELDS[field],
        "value": client[field],
        "expires_at": expires,
        "masked": False,
        "empty": not client[field],
    }


async def reveal_counts(user_id: int) -> dict[str, int]:
    """How many fields a user revealed in the last hour and day (the risk system watches these)."""
    rows = await fetch(
        """SELECT count(*) FILTER (WHERE created_at > now() - interval '1 hour') AS last_hour,
                  count(*) FILTER (WHERE created_at > now() - interval '1 day') AS last_day
           FROM pii_reveal WHERE "user" = $1 AND created_at > now() - interval '1 day'""",
        user_id,
    )
    return {"last_hour": rows[0]["last_hour"], "last_day": rows[0]["last_day"]}
