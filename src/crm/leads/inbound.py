"""What the leads area does with its webhooks once the inbox holds them (crm.core.inbox): social-ad lead
forms, telephony call records and inbound mail. Each event's shape is checked at the door by the same pure
function the processor uses (`form_changes`, `call_record`, `inbound_message`), so a malformed event is
refused with its field reasons at once and a stored one always parses; the processors then act in the inbox
job's transaction.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from crm.core.context import Actor
from crm.core.db import current_connection, savepoint
from crm.core.errors import DomainError, ValidationFailed
from crm.core.inbox.service import InboxEvent, Provider, register_provider
from crm.core.org.staff import active_staff_id
from crm.leads import sources
from crm.leads.intake import intake
from crm.leads.mail import receive_email
from crm.leads.work import CALL_OUTCOMES, record_call

FORM_FIELDS = {
    "email": "email",
    "phone_number": "phone",
    "phone": "phone",
    "first_name": "first_name",
    "last_name": "last_name",
    "country": "country",
    "language": "language",
    "locale": "language",
    "date_of_birth": "date_of_birth",
    "dob": "date_of_birth",
    "ib_code": "ib_code",
    "referral_code": "ib_code",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_content": "utm_content",
    "utm_term": "utm_term",
}
PLATFORMS = {
    "fb": "facebook",
    "ig": "instagram",
    "facebook": "facebook",
    "instagram": "instagram",
    "tiktok": "tiktok",
    "linkedin": "linkedin",
}
MAX_ID = 120  # characters of a sender's own id (leadgen_id, call_id, Message-ID)


def _text(value: Any, limit: int = 500) -> str:
    """A scalar as text (numbers too); anything else (objects, lists) counts as absent."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()[:limit]


# ---- lead forms ------------------------------------------------------------------------------------------


def form_changes(payload: Any) -> tuple[list[dict], dict[str, str]]:
    """The `leadgen` changes of a lead-form webhook body (`{"entry": [{"changes": [{"field": "leadgen",
    "value": {...}}]}]}`), or the reason it has none."""
    entries = payload.get("entry") if isinstance(payload, dict) else None
    if not isinstance(entries, list):
        return [], {"entry": "A list of entries, each with its changes."}
    changes = [
        c["value"]
        for e in entries
        if isinstance(e, dict) and isinstance(e.get("changes"), list)
        for c in e["changes"]
        if isinstance(c, dict) and c.get("field") == "leadgen" and isinstance(c.get("value"), dict)
    ]
    if not changes:
        return [], {"entry": "No leadgen changes in the body."}
    too_long = [c for c in changes if len(_text(c.get("leadgen_id"), 10_000)) > MAX_ID]
    if too_long:
        return [], {"leadgen_id": f"At most {MAX_ID} characters."}
    if not all(_is_field_data(c.get("field_data")) for c in changes):
        return [], {"field_data": 'A list of {"name": "...", "values": ["..."]} objects in every lead.'}
    return changes, {}


def _is_field_data(items: Any) -> bool:
    return isinstance(items, list) and all(
        isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("values"), list)
        for item in items
    )


def lead_from_form(value: dict) -> dict:
    """A lead from one `leadgen` change: `field_data` [{name, values}] plus the ad context. Items of another
    shape are skipped; intake then names what is missing."""
    raw: dict[str, Any] = {}
    items = value.get("field_data")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("values"), list) or not item["values"]:
            continue
        name, first = _text(item.get("name"), 60).lower(), _text(item["values"][0])
        if not first:
            continue
        if name == "full_name":
            given, _, family = first.partition(" ")
            raw.setdefault("first_name", given)
            raw.setdefault("last_name", family)
        elif name in FORM_FIELDS:
            raw[FORM_FIELDS[name]] = first
    raw["external_id"] = _text(value.get("leadgen_id"), MAX_ID) or None
    raw["campaign"] = _text(value.get("campaign_name"), 120) or raw.get("utm_campaign") or ""
    platform = _text(value.get("platform"), 40).lower() or "fb"
    raw["source"] = PLATFORMS.get(platform, platform)
    return raw


def form_event_id(changes: list[dict]) -> str | None:
    """A batch whose leads all carry the platform's leadgen id is that batch of ids; otherwise the body's
    hash."""
    ids = [_text(c.get("leadgen_id"), MAX_ID) for c in changes]
    return "leadgen:" + ",".join(sorted(ids)) if all(ids) and len(",".join(ids)) <= 180 else None


async def _source(event: InboxEvent, kind: str) -> dict:
    source = await sources.source_named(event.endpoint, kind, active_only=False)
    if source is None:
        raise ValidationFailed(f"The source {event.endpoint!r} no longer exists")
    return source


async def process_lead_form(event: InboxEvent) -> dict:
    """Each lead of the batch goes through intake in a savepoint of its own: a refused lead (named with its
    fields in the outcome) leaves the others saved. A lead without the platform's id gets one from the inbox
    event, so running the event again saves nothing twice."""
    source = await _source(event, "webhook")
    actor = Actor.system(f"intake:{source['name']}", event.meta)
    changes, errors = form_changes(event.json())
    if errors:
        raise ValidationFailed("Not a lead-form event", field_errors=errors)
    created, again, refused = [], 0, []
    for n, change in enumerate(changes):
        raw = lead_from_form(change)
        raw["external_id"] = raw["external_id"] or f"inbox-{event.id}-{n}"
        try:
            async with savepoint():
                result = await intake(actor, raw, channel="webhook", source=source, ip=event.meta.ip or "")
        except DomainError as exc:
            refused.append(
                {"leadgen_id": raw["external_id"], "error": exc.message, "fields": exc.field_errors}
            )
            continue
        if result.created:
            created.append(result.lead["reference"])
        else:
            again += 1
    return {"received": len(changes), "created": created, "already_received": again, "refused": refused}


# ---- call records ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallIn:
    call_id: str
    agent_email: str
    lead_reference: str
    phone: str
    direction: str
    started_at: dt.datetime
    duration_s: int
    outcome: str
    disposition: str
    recording_url: str


def _instant(value: Any) -> dt.datetime | None:
    """An ISO 8601 time with its zone, in UTC; None when it is not one (or cannot be held in UTC)."""
    try:
        when = dt.datetime.fromisoformat(_text(value, 40))
        return when.astimezone(dt.UTC) if when.tzinfo else None
    except (ValueError, OverflowError):
        return None


def call_record(payload: Any) -> tuple[CallIn | None, dict[str, str]]:
    """A telephony call record (`{"call_id", "agent_email", "lead_reference" or "phone", "direction",
    "started_at", "duration_s", "outcome", "disposition", "recording_url"}`) or the reasons it is not one."""
    if not isinstance(payload, dict):
        return None, {"body": "A JSON object."}
    errors = {}
    call_id = _text(payload.get("call_id"), 10_000)
    if not call_id:
        errors["call_id"] = "Required (the provider's id makes the webhook idempotent)."
    elif len(call_id) > MAX_ID:
        errors["call_id"] = f"At most {MAX_ID} characters."
    started_at = _instant(payload.get("started_at"))
    if started_at is None:
        errors["started_at"] = "ISO 8601 with a time zone, e.g. 2026-11-23T10:00:00Z."
    duration = payload.get("duration_s") or 0
    if (
        isinstance(duration, bool)
        or not isinstance(duration, int | float)
        or not math.isfinite(duration)
        or not 0 <= duration <= 86_400
    ):
        errors["duration_s"] = "Whole seconds, 0 to 86,400."
    outcome = _text(payload.get("outcome"), 40)
    if outcome not in CALL_OUTCOMES:
        errors["outcome"] = f"One of: {', '.join(CALL_OUTCOMES)}."
    direction = _text(payload.get("direction"), 20) or "outbound"
    if direction not in ("inbound", "outbound"):
        errors["direction"] = "inbound or outbound."
    if not (_text(payload.get("lead_reference")) or _text(payload.get("phone"))):
        errors["lead_reference"] = "Give the lead's reference or the phone number called."
    if errors:
        return None, errors
    return CallIn(
        call_id,
        _text(payload.get("agent_email"), 254),
        _text(payload.get("lead_reference"), 20),
        _text(payload.get("phone"), 32),
        direction,
        started_at,
        int(duration),
        outcome,
        _text(payload.get("disposition"), 200),
        _text(payload.get("recording_url"), 500),
    ), {}


async def process_call(event: InboxEvent) -> dict:
    """Store the call on the lead of the source's entity it names (by reference, else by phone)."""
    source = await _source(event, "telephony")
    call, errors = call_record(event.json())
    if call is None:
        raise ValidationFailed("Not a call record", field_errors=errors)
    lead = await current_connection().fetchrow(
        "SELECT * FROM lead WHERE entity_id = $1 AND merged_into_id IS NULL AND "
        "(reference = $2 OR (phone = $3 AND $3 <> '')) ORDER BY id DESC LIMIT 1",
        source["entity_id"],
        call.lead_reference,
        call.phone,
    )
    if lead is None:
        raise ValidationFailed(
            "No lead matches lead_reference or phone", field_errors={"lead_reference": "Unknown."}
        )
    actor = Actor.system(f"telephony:{source['name']}", event.meta)
    call_id, created = await record_call(
        actor,
        dict(lead),
        agent_id=await active_staff_id(call.agent_email),
        provider=source["name"],
        external_id=call.call_id,
        started_at=call.started_at,
        duration_s=call.duration_s,
        outcome=call.outcome,
        direction=call.direction,
        disposition=call.disposition,
        recording_ref=call.recording_url,
    )
    return {"call": call_id, "created": created, "lead": lead["reference"]}


# ---- inbound mail ----------------------------------------------------------------------------------------


def inbound_message(payload: Any) -> tuple[dict, dict[str, str]]:
    """A mail provider's parsed message (`{"message_id", "from", "to", "subject", "text", "received_at"}`)."""
    if not isinstance(payload, dict):
        return {}, {"body": "A JSON object."}
    message = {
        k: _text(payload.get(k), 20_000 if k == "text" else 1000)
        for k in ("message_id", "from", "to", "subject", "text", "received_at")
    }
    errors = {k: "Required." for k in ("from", "message_id") if not message[k]}
    if len(message["message_id"]) > MAX_ID:
        errors["message_id"] = f"At most {MAX_ID} characters."
    return message, errors


async def process_email(event: InboxEvent) -> dict:
    source = await _source(event, "email")
    message, errors = inbound_message(event.json())
    if errors:
        raise ValidationFailed("Not a mail message", field_errors=errors)
    return await receive_email(
        Actor.system(f"email:{source['name']}", event.meta), source["entity_id"], message
    )


LEAD_FORMS = register_provider(Provider("leads.form", "Lead-form webhook", process_lead_form))
CALL_RECORDS = register_provider(Provider("leads.telephony", "Call-record webhook", process_call))
INBOUND_MAIL = register_provider(Provider("leads.email", "Inbound e-mail webhook", process_email))
