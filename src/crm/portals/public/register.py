"""The public registration form (the client portal's first page, until the portal itself arrives): a lead
from a person, dressed in the brand of the link that brought them, with field-level errors, UTM and referral
code carried from the landing URL, and the privacy notice of the entity that will hold their data: accepting
it (and, optionally, marketing contact) is recorded with the lead, in the intake's transaction."""

from __future__ import annotations

import pycountry
from litestar import Request, Response, Router, get, post
from litestar.params import FromPath

from crm.clients import brands, consent, notices
from crm.core.context import Actor
from crm.core.errors import NotFound, ValidationFailed
from crm.core.inputs import parse_int
from crm.core.web import NO_REFUSAL, Refusal, form_data, render, shows_again
from crm.leads import service
from crm.leads.context import entity_for_form
from crm.leads.normalise import clean

COUNTRIES = sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("ar", "العربية"),
    ("pt", "Português"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("it", "Italiano"),
    ("ru", "Русский"),
    ("zh", "中文"),
    ("tr", "Türkçe"),
]
CARRIED = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "source",
    "campaign",
    "brand",
)


def _public(request: Request, template: str, context: dict, status: int = 200) -> Response:
    return render(request, template, context | {"public_page": True}, status=status)


async def _notice_for(brand: dict | None, country: str) -> dict | None:
    entity_id = await entity_for_form(brand["code"] if brand else "", country)
    return await notices.published(entity_id) if entity_id else None


async def _consent_context(form: dict, errors: dict) -> dict:
    brand = await brands.for_public(form.get("brand", ""))
    notice = await _notice_for(brand, form.get("country", ""))
    return {
        "brand": brand,
        "notice": notice,
        "notice_blocks": notices.blocks(notice["body"]) if notice else [],
        "form": form,
        "errors": errors,
    }


async def _page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    context = await _consent_context(refusal.form, refusal.errors)
    if context["brand"]:
        refusal.form["brand"] = context["brand"]["code"]  # the lead carries the brand it saw
    return _public(
        request,
        "public/register.html",
        context | {"countries": COUNTRIES, "languages": LANGUAGES, "carried": CARRIED},
        status=refusal.status,
    )


@get("/register", name="public.register", include_in_schema=False)
async def register_form(request: Request) -> Response:
    params = dict(request.query_params)
    form = {k: params[k][:120] for k in CARRIED if params.get(k)}
    if params.get("ref"):
        form["ib_code"] = params["ref"][:40]
    return await _page(request, Refusal(form=form))


@get("/register/consent", name="public.register_consent", include_in_schema=False)
async def consent_fragment(request: Request) -> Response:
    """The consent block for the country chosen (HTMX swaps it in): the notice of the entity that would
    take the lead."""
    params = request.query_params
    form = {"brand": str(params.get("brand", ""))[:40], "country": str(params.get("country", ""))[:2]}
    return render(request, "public/_consent.html", await _consent_context(form, {}))


@post("/register", name="public.register_submit", include_in_schema=False)
@shows_again(_page)
async def register(request: Request) -> Response:
    form = await form_data(request)
    brand = await brands.for_public(form.get("brand", ""))
    if brand:
        form["brand"] = brand["code"]
    if not form.get("source") and not form.get("utm_source"):
        form["source"] = "website"
    notice = await _notice_for(brand, str(form.get("country", "")))
    if notice and form.get("consent") != "on":  # said with the other fields' errors, before any saving
        _, errors = clean(form)
        errors["consent"] = consent.REREAD.format(entity=notice["entity_name"])
        raise ValidationFailed("Please correct the highlighted fields", field_errors=errors)
    meta = request.scope["state"]["meta"]

    async def keep_consent(lead: dict) -> dict | None:
        return await consent.record_for_lead(
            lead, form, channel="form", ip=meta.ip or "", user_agent=meta.user_agent or ""
        )

    result = await service.intake(
        Actor.system("intake:website", meta), form, channel="form", ip=meta.ip or "", on_saved=keep_consent
    )
    return _public(
        request,
        "public/registered.html",
        {"reference": result.lead["reference"], "first_name": result.lead["first_name"], "brand": brand},
    )


async def _notice_page(request: Request, notice: dict | None) -> Response:
    if notice is None:
        raise NotFound("Privacy notice")
    brand = await brands.for_public(str(request.query_params.get("brand", "")))
    return _public(
        request,
        "public/privacy.html",
        {"notice": notice, "notice_blocks": notices.blocks(notice["body"]), "brand": brand},
    )


@get("/privacy/{entity_code:str}", name="public.privacy", include_in_schema=False)
async def privacy_current(request: Request, entity_code: FromPath[str]) -> Response:
    return await _notice_page(request, await notices.readable(entity_code[:20]))


@get("/privacy/{entity_code:str}/{version:str}", name="public.privacy_version", include_in_schema=False)
async def privacy_version(request: Request, entity_code: FromPath[str], version: FromPath[str]) -> Response:
    number = parse_int(version.removeprefix("v"))
    return await _notice_page(request, await notices.readable(entity_code[:20], number) if number else None)


def public_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            register_form,
            consent_fragment,
            register,
            privacy_current,
            privacy_version,
        ],
        include_in_schema=False,
    )
