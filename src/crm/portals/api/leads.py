"""The machine interface of lead intake: the REST API (per-source API keys, OpenAPI at /api/schema). Webhooks
(lead forms, call records, inbound mail) come in through crm.webhooks and the inbox instead.

Every answer is JSON; bad input gets a 4xx with a reason per field, never a 500."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated

from litestar import Request, Response, Router, post
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import FromPath, HeaderParameter, JSONBody

from crm.core.context import Actor, RequestMeta
from crm.core.errors import DomainError
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


Authorization = Annotated[
    str | None,
    HeaderParameter(
        name="Authorization", required=False, description="Bearer <API key of the intake source>"
    ),
]


def _json_error(status: int, error: str, fields: dict | None = None) -> Response:
    return Response(
        {"error": error, "fields": fields or {}}, status_code=status, media_type="application/json"
    )


def api_domain_error(request: Request, exc: DomainError) -> Response:
    return _json_error(exc.status_code, exc.message, exc.field_errors)


def api_http_error(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, ValidationException):
        fields = {
            str(e.get("key") or "body"): e.get("message", "invalid")
            for e in (exc.extra or [])
            if isinstance(e, dict)
        }
        return _json_error(
            400, "The request body could not be read as a lead (JSON object of strings).", fields
        )
    return _json_error(exc.status_code, str(exc.detail))


def _meta(request: Request) -> RequestMeta:
    return request.scope["state"]["meta"]


async def _api_source(authorization: str | None) -> dict:
    key = (authorization or "").removeprefix("Bearer ").strip()
    source = await sources.source_for_key(key)
    if source is None:
        raise HTTPException(status_code=401, detail="Send a valid API key as 'Authorization: Bearer crmk_…'.")
    return source


@post(
    "/leads",
    status_code=201,
    summary="Submit a lead",
    description="Idempotent per source on `external_id`: sending the same lead again returns it (200) "
    "unchanged.",
)
async def submit_lead(
    request: Request, data: JSONBody[LeadIn], authorization: Authorization = None
) -> Response[LeadAccepted]:
    source = await _api_source(authorization)
    actor = Actor.system(f"intake:{source['name']}", _meta(request))
    result = await service.intake(
        actor,
        {k: v for k, v in vars(data).items() if v is not None},
        channel="api",
        source=source,
        ip=_meta(request).ip or "",
    )
    body = LeadAccepted(
        result.lead["reference"],
        result.created,
        result.lead["status"],
        result.lead["score"],
        bool(result.lead.get("owner_id")),
    )
    return Response(body, status_code=201 if result.created else 200)


@post(
    "/leads/{reference:str}/signals",
    status_code=200,
    summary="Report what a lead did (KYC started, demo use)",
)
async def lead_signals(
    request: Request, reference: FromPath[str], data: JSONBody[SignalsIn], authorization: Authorization = None
) -> dict:
    source = await _api_source(authorization)
    actor = Actor.system(f"intake:{source['name']}", _meta(request))
    return await service.record_signals(
        actor,
        reference,
        {k: v for k, v in asdict(data).items() if v is not None},
        entity_id=source["entity_id"],
    )


def api_router() -> Router:
    return Router(
        path="/api/v1",
        route_handlers=[submit_lead, lead_signals],
        exception_handlers={DomainError: api_domain_error, HTTPException: api_http_error},
    )
