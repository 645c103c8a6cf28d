"""The leads area's webhooks: social-ad lead forms, telephony call records and inbound mail, each sent to
`/webhooks/<kind>/<source name>` and signed with that intake source's secret (see leads/sources.py)."""

from __future__ import annotations

from litestar import Request, Response, post
from litestar.params import FromPath

from crm.leads import inbound, sources
from crm.webhooks.door import Sender, accept


async def _sender(name: str, kind: str) -> Sender | None:
    source = await sources.source_named(name, kind)
    if source is None:
        return None
    return Sender(
        source["name"], source["entity_id"], source["signature_scheme"], sources.active_secrets(source)
    )


def _form(payload) -> tuple[str | None, dict[str, str]]:
    changes, errors = inbound.form_changes(payload)
    return (inbound.form_event_id(changes) if changes else None), errors


def _call(payload) -> tuple[str | None, dict[str, str]]:
    call, errors = inbound.call_record(payload)
    return (f"call:{call.call_id}" if call else None), errors


def _mail(payload) -> tuple[str | None, dict[str, str]]:
    message, errors = inbound.inbound_message(payload)
    return (f"message:{message['message_id']}" if not errors else None), errors


@post("/leads/{name:str}", status_code=202)
async def lead_form_webhook(request: Request, name: FromPath[str]) -> Response:
    """`{"object": "page", "entry": [{"changes": [{"field": "leadgen", "value": {"leadgen_id", "platform",
    "campaign_name", "field_data": [{"name": "email", "values": ["…"]}]}}]}]}`."""
    return await accept(
        request, provider=inbound.LEAD_FORMS.name, sender=await _sender(name, "webhook"), check=_form
    )


@post("/calls/{name:str}", status_code=202)
async def call_webhook(request: Request, name: FromPath[str]) -> Response:
    """`{"call_id", "agent_email", "lead_reference" or "phone", "direction", "started_at" (ISO 8601 with
    zone), "duration_s", "outcome", "disposition", "recording_url"}`."""
    return await accept(
        request, provider=inbound.CALL_RECORDS.name, sender=await _sender(name, "telephony"), check=_call
    )


@post("/email/{name:str}", status_code=202)
async def inbound_email_webhook(request: Request, name: FromPath[str]) -> Response:
    """A mail provider's parsed inbound message: `{"message_id", "from", "to", "subject", "text",
    "received_at"}`."""
    return await accept(
        request, provider=inbound.INBOUND_MAIL.name, sender=await _sender(name, "email"), check=_mail
    )


handlers = [lead_form_webhook, call_webhook, inbound_email_webhook]
