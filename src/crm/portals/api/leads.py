"""The public machine interfaces of lead intake: the REST API (per-source API keys, OpenAPI at /api/schema),
the signed lead-form webhook in the social-ad format, and the signed telephony call-record webhook.

Every answer is JSON; bad input gets a 4xx with a reason per field, never a 500."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from litestar import Request, Response, Router, post
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import FromPath, HeaderParameter, JSONBody

from crm.core.context import Actor, RequestMeta
from crm.core.db import fetch, transaction
from crm.core.errors import DomainError, NotFound
from crm.core.jobs import log_run
from crm.leads import mail as lead_mail
from crm.leads import service, sources


@dataclass
class LeadIn:
    """A lead as a sender submits it. Only a name, a country (or an international phone number) and an e-mail
    or phone are required; everything is normalised (E.164 phone, ISO 3166 country, ISO 639 language)."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    language: str | None = None
    date_of_birth: str | None = None
    source: str | None = None
    campaign: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    ib_code: str | None = None
    brand: str | None = None
    device_id: str | None = None
    external_id: str | None = None


@dataclass
class LeadAccepted:
    reference: str
    created: bool
    status: str
    score: int
    routed: bool


@dataclass
class SignalsIn:
    kyc_started: bool | None = None
    demo_sessions: int | None = None


Authorization = Annotated[str | None, HeaderParameter(name="Authorization", required=False,
                                                      description="Bearer <API key of the intake source>")]


def _json_error(status: int, error: str, fields: dict | None = None) -> Response:
    return Response({"error": error, "fields": fields or {}}, status_code=status, media_type="application/json")


def api_domain_error(request: Request, exc: DomainError) -> Response:
    return _json_error(exc.status_code, exc.message, exc.field_errors)


def api_http_error(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, ValidationException):
        fields = {str(e.get("key") or "body"): e.get("message", "invalid") for e in (exc.extra or []) if isinstance(e, dict)}
        return _json_error(400, "The request body could not be read as a lead (JSON object of strings).", fields)
    return _json_error(exc.status_code, str(exc.detail))


def _meta(request: Request) -> RequestMeta:
    return request.scope["state"]["meta"]


async def _api_source(authorization: str | None) -> dict:
    key = (authorization or "").removeprefix("Bearer ").strip()
    source = await sources.source_for_key(key)
    if source is None:
        raise HTTPException(status_code=401, detail="Send a valid API key as 'Authorization: Bearer crmk_…'.")
    return source


@post("/leads", status_code=201, summary="Submit a lead",
      description="Idempotent per source on `external_id`: sending the same lead again returns it (200) unchanged.")
async def submit_lead(request: Request, data: JSONBody[LeadIn], authorization: Authorization = None) -> Response[LeadAccepted]:
    source = await _api_source(authorization)
    actor = Actor.system(f"intake:{source['name']}", _meta(request))
    result = await service.intake(actor, {k: v for k, v in vars(data).items() if v is not None}, channel="api",
                                  source=source, ip=_meta(request).ip or "")
    body = LeadAccepted(result.lead["reference"], result.created, result.lead["status"], result.lead["score"],
                        bool(result.lead.get("owner_id")))
    return Response(body, status_code=201 if result.created else 200)


@post("/leads/{reference:str}/signals", status_code=200, summary="Report what a lead did (KYC started, demo use)")
async def lead_signals(request: Request, reference: FromPath[str], data: JSONBody[SignalsIn],
                       authorization: Authorization = None) -> dict:
    source = await _api_source(authorization)
    rows = await fetch("SELECT entity_id FROM lead WHERE reference = $1", reference)
    if not rows or rows[0]["entity_id"] != source["entity_id"]:
        raise NotFound("Lead")
    actor = Actor.system(f"intake:{source['name']}", _meta(request))
    return await service.record_signals(actor, reference, {k: v for k, v in asdict(data).items() if v is not None})


def api_router() -> Router:
    return Router(path="/api/v1", route_handlers=[submit_lead, lead_signals],
                  exception_handlers={DomainError: api_domain_error, HTTPException: api_http_error})


# ---- webhooks --------------------------------------------------------------------------------------------

FORM_FIELDS = {"email": "email", "phone_number": "phone", "phone": "phone", "first_name": "first_name",
               "last_name": "last_name", "country": "country", "language": "language", "locale": "language",
               "date_of_birth": "date_of_birth", "dob": "date_of_birth", "ib_code": "ib_code", "referral_code": "ib_code",
               "utm_source": "utm_source", "utm_medium": "utm_medium", "utm_campaign": "utm_campaign",
               "utm_content": "utm_content", "utm_term": "utm_term"}
PLATFORMS = {"fb": "facebook", "ig": "instagram", "facebook": "facebook", "instagram": "instagram",
             "tiktok": "tiktok", "linkedin": "linkedin"}


def lead_from_form(value: dict) -> dict:
    """A lead from one `leadgen` change: `field_data` [{name, values}] plus the ad context."""
    raw: dict[str, Any] = {}
    for item in value.get("field_data") or []:
        name, values = str(item.get("name", "")).lower(), item.get("values") or []
        if not values:
            continue
        if name == "full_name":
            first, _, last = str(values[0]).strip().partition(" ")
            raw.setdefault("first_name", first)
            raw.setdefault("last_name", last)
        elif name in FORM_FIELDS:
            raw[FORM_FIELDS[name]] = str(values[0])
    raw["external_id"] = str(value.get("leadgen_id") or "") or None
    raw["campaign"] = value.get("campaign_name") or raw.get("utm_campaign") or ""
    raw["source"] = PLATFORMS.get(str(value.get("platform", "fb")).lower(), str(value.get("platform", "")).lower())
    return raw


async def _signed_body(request: Request, name: str, kind: str) -> tuple[dict, bytes]:
    source = await sources.source_named(name, kind)
    body = await request.body()
    if source is None or not sources.signature_ok(source["secret"], body, request.headers.get("x-hub-signature-256")):
        raise HTTPException(status_code=401, detail="Unknown source or bad signature (X-Hub-Signature-256: sha256=HMAC of the raw body).")
    return source, body


def _parse(body: bytes) -> dict:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise HTTPException(status_code=400, detail="The body is not JSON.") from None
    if not isinstance(payload, dict):
        raise HTTPException(status_code=400, detail="The body must be a JSON object.")
    return payload


@post("/leads/{name:str}", status_code=200, include_in_schema=False)
async def lead_form_webhook(request: Request, name: FromPath[str]) -> dict:
    """`{"object": "page", "entry": [{"changes": [{"field": "leadgen", "value": {"leadgen_id", "platform",
    "campaign_name", "field_data": [{"name": "email", "values": ["…"]}]}}]}]}`, signed with the source's secret."""
    source, body = await _signed_body(request, name, "webhook")
    payload = _parse(body)
    started = dt.datetime.now(dt.UTC)
    actor = Actor.system(f"intake:{source['name']}", _meta(request))
    created, duplicates, rejected = [], 0, []
    changes = [c for e in payload.get("entry") or [] if isinstance(e, dict) for c in e.get("changes") or []
               if isinstance(c, dict) and c.get("field") == "leadgen" and isinstance(c.get("value"), dict)]
    if not changes:
        raise HTTPException(status_code=422, detail="No leadgen changes in the body.")
    for change in changes:
        raw = lead_from_form(change["value"])
        try:
            result = await service.intake(actor, raw, channel="webhook", source=source, ip=_meta(request).ip or "")
        except DomainError as exc:
            rejected.append({"leadgen_id": raw.get("external_id"), "error": exc.message, "fields": exc.field_errors})
            continue
        if result.created:
            created.append(result.lead["reference"])
        else:
            duplicates += 1
    if rejected:  # visible to staff in the automation log: the sender will not send these again
        await log_run("leads.webhook", f"webhook:{source['name']}", entity_id=source["entity_id"],
                      input={"rejected": rejected}, outcome="failed", error=f"{len(rejected)} lead(s) rejected",
                      started=started, duration_ms=int((dt.datetime.now(dt.UTC) - started).total_seconds() * 1000))
    return {"received": len(changes), "created": created, "already_received": duplicates, "rejected": rejected}


@post("/calls/{name:str}", status_code=200, include_in_schema=False)
async def call_webhook(request: Request, name: FromPath[str]) -> Response:
    """A telephony provider's call record: `{"call_id", "agent_email", "lead_reference" or "phone", "direction",
    "started_at" (ISO 8601 with zone), "duration_s", "outcome", "disposition", "recording_url"}`."""
    source, body = await _signed_body(request, name, "telephony")
    p = _parse(body)
    errors = {}
    call_id = str(p.get("call_id") or "").strip()
    if not call_id:
        errors["call_id"] = "Required (the provider's id makes the webhook idempotent)."
    try:
        started_at = dt.datetime.fromisoformat(str(p.get("started_at") or ""))
        if started_at.tzinfo is None:
            raise ValueError
    except ValueError:
        errors["started_at"] = "ISO 8601 with a time zone, e.g. 2026-11-23T10:00:00Z."
        started_at = None
    try:
        duration = int(p.get("duration_s") or 0)
    except (TypeError, ValueError):
        errors["duration_s"] = "Whole seconds."
        duration = 0
    if errors:
        return Response({"error": "Invalid call record", "fields": errors}, status_code=422)
    async with transaction():
        lead_rows = await fetch("SELECT * FROM lead WHERE entity_id = $1 AND merged_into_id IS NULL AND "
                                "(reference = $2 OR (phone = $3 AND $3 <> '')) ORDER BY id DESC LIMIT 1",
                                source["entity_id"], str(p.get("lead_reference") or ""), str(p.get("phone") or ""))
        if not lead_rows:
            return Response({"error": "No lead matches lead_reference or phone", "fields": {"lead_reference": "Unknown."}},
                            status_code=422)
        agents = await fetch("SELECT id FROM staff_user WHERE lower(email) = lower($1)", str(p.get("agent_email") or ""))
        actor = Actor.system(f"telephony:{source['name']}", _meta(request))
        call, created = await service.record_call(
            actor, dict(lead_rows[0]), agent_id=agents[0]["id"] if agents else None, provider=source["name"],
            external_id=call_id, started_at=started_at, duration_s=duration, outcome=str(p.get("outcome") or ""),
            direction=str(p.get("direction") or "outbound"), disposition=str(p.get("disposition") or ""),
            recording_ref=str(p.get("recording_url") or ""))
    return Response({"call": call, "created": created, "lead": lead_rows[0]["reference"]})


@post("/email/{name:str}", status_code=200, include_in_schema=False)
async def inbound_email_webhook(request: Request, name: FromPath[str]) -> Response:
    """A mail provider's inbound message (its parse webhook): `{"message_id", "from", "to", "subject", "text",
    "received_at"}`, signed with the source's secret. Matched to a lead of the source's entity by the sender."""
    source, body = await _signed_body(request, name, "email")
    message = _parse(body)
    result = await lead_mail.receive_email(Actor.system(f"email:{source['name']}", _meta(request)),
                                           source["entity_id"], message)
    return Response(result, status_code=200 if result["matched"] else 202)


def webhook_router() -> Router:
    return Router(path="/webhooks", route_handlers=[lead_form_webhook, call_webhook, inbound_email_webhook],
                  include_in_schema=False,
                  exception_handlers={DomainError: api_domain_error, HTTPException: api_http_error})
