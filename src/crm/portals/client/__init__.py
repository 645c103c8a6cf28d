"""The client portal (/portal): its own realm, with its own session cookie, templates under templates/client/,
mobile first and translated (crm.core.i18n). Handlers are thin: read the form, call one service, render.

A client sees only their own records: every page reads the signed-in client's id from the session, never
from the URL."""

from __future__ import annotations

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath

from crm.clients import notices
from crm.core.errors import DomainError
from crm.core.i18n import N_, country_names, gettext
from crm.core.web import NO_REFUSAL, Refusal, form_data, redirect, shows_again
from crm.identity import portal
from crm.leads.context import entity_for_form
from crm.onboarding import registration
from crm.portals.client import account
from crm.portals.client.common import (
    COOKIE,
    SignInRequired,
    language,
    load,
    next_url,
    page,
    portal_error,
    set_session_cookie,
    to_sign_in,
)
from crm.portals.staff.middleware import request_meta

# --- registration and sign-in ------------------------------------------------------------------------------


async def _register_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    await load(request)
    country = str(refusal.form.get("country") or "")
    return page(
        request,
        "client/register.html",
        {
            "form": refusal.form,
            "errors": refusal.errors,
            "error": refusal.message,
            "countries": country_names(language(request)),
            "notice": await _notice_for(country, str(request.query_params.get("brand") or "")),
        },
        status=refusal.status,
    )


async def _notice_for(country: str, brand: str) -> dict | None:
    if not country:
        return None
    return await notices.published(await entity_for_form(brand, country))


@get("/portal/register", name="portal.register")
async def register_form(request: Request) -> Response:
    return await _register_page(request)


@get("/portal/register/consent", name="portal.register.consent")
async def register_consent(request: Request) -> Response:
    """The privacy notice of the entity the chosen country goes to (swapped in when the country changes)."""
    country = str(request.query_params.get("country") or "").upper()[:2]
    notice = await _notice_for(country, str(request.query_params.get("brand") or ""))
    return page(request, "client/_consent.html", {"notice": notice, "form": {}, "errors": {}})


@post("/portal/register", name="portal.register.submit")
@shows_again(_register_page)
async def register_submit(request: Request) -> Response:
    form = await form_data(request)
    meta = request_meta(request)
    lang = language(request)
    done = await registration.register(form, language=lang, brand=str(form.get("brand") or ""), meta=meta)
    token = await portal.start_session(done["account_id"], meta, request.app.state.settings)
    response = redirect(
        request, "/portal", flash=gettext(lang, "Welcome! We sent you an e-mail to confirm your address.")
    )
    set_session_cookie(request, response, token)
    return response


async def _login_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    await load(request)
    return page(
        request,
        "client/login.html",
        {"form": refusal.form, "error": refusal.message, "next": next_url(request, refusal.form)},
        status=refusal.status,
    )


@get("/portal/login", name="portal.login")
async def login_form(request: Request) -> Response:
    return await _login_page(request)


@post("/portal/login", name="portal.login.submit")
@shows_again(_login_page)
async def login_submit(request: Request) -> Response:
    form = await form_data(request)
    token, _ = await portal.sign_in(
        form.get("email", ""), form.get("password", ""), request_meta(request), request.app.state.settings
    )
    response = redirect(request, next_url(request, form))
    set_session_cookie(request, response, token)
    return response


@post("/portal/logout", name="portal.logout")
async def logout(request: Request) -> Response:
    session = await load(request)
    if session:
        await portal.sign_out(session)
    response = redirect(request, "/portal/login", flash=gettext(language(request), "You are signed out."))
    response.delete_cookie(COOKIE, path="/portal")
    return response


@get("/portal/verify/{token:str}", name="portal.verify")
async def verify(request: Request, token: FromPath[str]) -> Response:
    await load(request)
    try:
        await portal.verify_email(token[:100], request_meta(request))
    except DomainError as exc:
        return page(
            request,
            "client/message.html",
            {"title": N_("Link not valid"), "message": exc.message},
            status=400,
        )
    return page(
        request,
        "client/message.html",
        {
            "title": N_("E-mail address confirmed"),
            "message": N_("Thank you: your e-mail address is confirmed."),
            "next": "/portal",
        },
    )


async def _reset_request_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    await load(request)
    return page(request, "client/reset_request.html", {"form": refusal.form, "error": refusal.message})


@get("/portal/reset", name="portal.reset")
async def reset_request_form(request: Request) -> Response:
    return await _reset_request_page(request)


@post("/portal/reset", name="portal.reset.submit")
async def reset_request_submit(request: Request) -> Response:
    form = await form_data(request)
    await portal.request_reset(form.get("email", ""), request_meta(request))
    return page(
        request,
        "client/message.html",
        {
            "title": N_("Check your e-mail"),
            "message": N_(
                "If an account uses this address, we sent it a link to choose a new password. "
                "The link works once, for one hour."
            ),
        },
    )


async def _reset_page(request: Request, refusal: Refusal = NO_REFUSAL, *, token: str = "") -> Response:
    await load(request)
    return page(
        request,
        "client/reset.html",
        {"token": token, "errors": refusal.errors, "error": refusal.message},
        status=refusal.status,
    )


@get("/portal/reset/{token:str}", name="portal.reset.form")
async def reset_form(request: Request, token: FromPath[str]) -> Response:
    return await _reset_page(request, token=token)


@post("/portal/reset/{token:str}", name="portal.reset.done")
@shows_again(_reset_page)
async def reset_done(request: Request, token: FromPath[str]) -> Response:
    form = await form_data(request)
    await portal.reset_password(token[:100], form.get("password", ""), request_meta(request))
    return redirect(
        request,
        "/portal/login",
        flash=gettext(language(request), "Your password is changed. Sign in with it."),
    )


def portal_router() -> Router:
    return Router(
        path="/",
        include_in_schema=False,
        route_handlers=[
            register_form,
            register_consent,
            register_submit,
            login_form,
            login_submit,
            logout,
            verify,
            reset_request_form,
            reset_request_submit,
            reset_form,
            reset_done,
            *account.handlers,
        ],
        exception_handlers={SignInRequired: to_sign_in, DomainError: portal_error},
    )
