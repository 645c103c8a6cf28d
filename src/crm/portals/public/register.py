"""The public registration form (the client portal's first page, until the portal itself arrives): a lead
from a person, with field-level errors, UTM and referral code carried from the landing URL."""

from __future__ import annotations

import pycountry
from litestar import Request, Response, Router, get, post

from crm.core.context import Actor
from crm.core.web import NO_REFUSAL, Refusal, form_data, render, shows_again
from crm.leads import service

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


async def _page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    return render(
        request,
        "public/register.html",
        {
            "form": refusal.form,
            "errors": refusal.errors,
            "countries": COUNTRIES,
            "languages": LANGUAGES,
            "carried": CARRIED,
        },
        status=refusal.status,
    )


@get("/register", name="public.register", include_in_schema=False)
async def register_form(request: Request) -> Response:
    params = dict(request.query_params)
    form = {k: params[k][:120] for k in CARRIED if params.get(k)}
    if params.get("ref"):
        form["ib_code"] = params["ref"][:40]
    return await _page(request, Refusal(form=form))


@post("/register", name="public.register_submit", include_in_schema=False)
@shows_again(_page)
async def register(request: Request) -> Response:
    form = await form_data(request)
    if not form.get("source") and not form.get("utm_source"):
        form["source"] = "website"
    meta = request.scope["state"]["meta"]
    result = await service.intake(
        Actor.system("intake:website", meta), form, channel="form", ip=meta.ip or ""
    )
    return render(
        request,
        "public/registered.html",
        {"reference": result.lead["reference"], "first_name": result.lead["first_name"]},
    )


def public_router() -> Router:
    return Router(path="/", route_handlers=[register_form, register], include_in_schema=False)
