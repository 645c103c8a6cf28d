"""The door every webhook comes through: read the raw body (bounded), verify its signature against the
sender's active secrets, check its shape, store it in the inbox and answer, all before any business work.

    202 {"event": 17, "status": "received"}     stored; processed by a job (outcome on the inbox screen)
    200 {"event": 17, "status": "duplicate"}    a replay of an event already stored: nothing is done
    401 / 400 / 422 {"error": ..., "fields": {...}}   refused (kept in the inbox as rejected, with the reason)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from crm.core.context import Actor, RequestMeta
from crm.core.errors import DomainError
from crm.core.inbox import service as inbox
from crm.core.inbox.signatures import SCHEMES
from crm.core.inputs import json_value

EVENT_ID_HEADER = "x-crm-event-id"

# check(payload) -> (the sender's event id if the payload carries one, field errors)
ShapeCheck = Callable[[Any], tuple[str | None, dict[str, str]]]


def answer(status: int, error: str, fields: dict | None = None) -> Response:
    return Response(
        {"error": error, "fields": fields or {}}, status_code=status, media_type="application/json"
    )


def webhook_errors() -> dict:
    def domain(request: Request, exc: DomainError) -> Response:
        return answer(exc.status_code, exc.message, exc.field_errors)

    def http(request: Request, exc: HTTPException) -> Response:
        return answer(exc.status_code, str(exc.detail))

    return {DomainError: domain, HTTPException: http}


async def _raw_body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > inbox.MAX_BODY:
        return None
    body = await request.body()
    return body if len(body) <= inbox.MAX_BODY else None


@dataclass(frozen=True)
class Sender:
    """Who a webhook claims to come from here: the endpoint's name, its entity, its scheme and active
    secrets."""

    endpoint: str
    entity_id: int | None
    scheme: str
    secrets: list[str]


async def accept(request: Request, *, provider: str, sender: Sender | None, check: ShapeCheck) -> Response:
    """Verify, check, store and answer one webhook request (`sender` None: unknown endpoint, nothing
    stored)."""
    body = await _raw_body(request)
    if body is None:
        return answer(413, f"The body is larger than {inbox.MAX_BODY:,} bytes.")
    if sender is None:
        return answer(401, "Unknown source or bad signature.")
    scheme = SCHEMES[sender.scheme]
    verification = scheme.verify(body, request.headers, sender.secrets)
    meta: RequestMeta = request.scope["state"]["meta"]
    actor = Actor.system(f"webhook:{sender.endpoint}", meta)
    common = {
        "provider": provider,
        "endpoint": sender.endpoint,
        "entity_id": sender.entity_id,
        "body": body,
        "headers": request.headers,
        "scheme": scheme.name,
        "verification": verification,
    }
    if not verification.ok:
        await inbox.receive(actor, **common, event_id=None)
        return answer(401, f"Bad signature: {verification.reason} (sign with {scheme.header}).")
    try:
        event_id, errors = check(json_value(body))
    except DomainError as exc:
        await inbox.receive(actor, **common, event_id=None, refusal=exc.message)
        return answer(400, exc.message)
    if errors:
        await inbox.receive(
            actor, **common, event_id=None, refusal="; ".join(f"{k}: {v}" for k, v in errors.items())
        )
        return answer(422, "The event is not of the expected shape", errors)
    sender_id = request.headers.get(EVENT_ID_HEADER, "").strip()[:200]
    receipt = await inbox.receive(actor, **common, event_id=sender_id or event_id)
    return Response(
        {"event": receipt.id, "status": receipt.status},
        status_code=200 if receipt.status == "duplicate" else 202,
        media_type="application/json",
    )
