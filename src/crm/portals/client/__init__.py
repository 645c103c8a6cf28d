"""The client portal (/portal): its own realm, with its own session cookie, templates under templates/client/,
mobile first and translated (crm.core.i18n). Handlers are thin: read the form, call one service, render.

A client sees only their own records: every page reads the signed-in client's id from the session, never
from the URL."""

from __future__ import annotations

from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Redirect

from crm.clients import notices
from crm.core.errors import DomainError, ValidationFailed
from crm.core.files.service import MAX_BYTES
from crm.core.i18n import LANGUAGES, N_, country_names, direction, gettext, pick_language
from crm.core.web import NO_REFUSAL, Refusal, form_data, redirect, render, shows_again
from crm.identity import portal
from crm.kyc.documents import service as documents
from crm.leads.context import entity_for_form
from crm.onboarding import profile, registration, status
from crm.portals.staff.middleware import request_meta

COOKIE = "crm_portal"
CHOOSE_FILE = N_("Choose the photo or scan to send.")
LANG_COOKIE = "crm_lang"


class SignInRequired(HTTPException):
    status_code = 401


def language(request: Request) -> str:
    session = request.scope.get("state", {}).get("portal")
    return pick_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        session.language if session else None,
        accept=request.headers.get("accept-language", ""),
    )


async def load(request: Request) -> portal.PortalSession | None:
    state = request.scope.setdefault("state", {})  # type: ignore[typeddict-item]
    if "portal" not in state:
        state["portal"] = await portal.load_session(request.cookies.get(COOKIE), request.app.state.settings)
    return state["portal"]


async def signed_in(request: Request) -> portal.PortalSession:
    session = await load(request)
    if session is None:
        raise SignInRequired()
    return session


def page(request: Request, template: str, context: dict | None = None, *, status: int = 200) -> Response:
    lang = language(request)
    session = request.scope.get("state", {}).get("portal")
    response = render(
        request,
        template,
        {"lang": lang, "dir": direction(lang), "languages": LANGUAGES, "client": session} | (context or {}),
        status=status,
    )
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


def to_sign_in(request: Request, exc: Exception) -> Response:
    return Redirect(f"/portal/login?next={request.url.path}", status_code=303)


def portal_error(request: Request, exc: DomainError) -> Response:
    return page(
        request, "client/message.html", {"title": N_("Sorry"), "message": exc.message}, status=exc.status_code
    )


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
    await registration.register(form, language=lang, brand=str(form.get("brand") or ""), meta=meta)
    token, _ = await portal.sign_in(
        form.get("email", ""), form.get("password", ""), meta, request.app.state.settings
    )
    response = redirect(
        request, "/portal", flash=gettext(lang, "Welcome! We sent you an e-mail to confirm your address.")
    )
    _set_session_cookie(request, response, token)
    return response


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/portal",
        max_age=settings.session_absolute_hours * 3600,
    )


async def _login_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    await load(request)
    return page(
        request,
        "client/login.html",
        {"form": refusal.form, "error": refusal.message, "next": _next(request, refusal.form)},
        status=refusal.status,
    )


def _next(request: Request, form: dict) -> str:
    target = str(form.get("next") or request.query_params.get("next") or "/portal")
    return target if target.startswith("/portal") and "//" not in target else "/portal"


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
    response = redirect(request, _next(request, form))
    _set_session_cookie(request, response, token)
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


# --- the signed-in client ----------------------------------------------------------------------------------


@get("/portal", name="portal.home")
async def home(request: Request) -> Response:
    session = await signed_in(request)
    return page(request, "client/home.html", {"journey": await status.journey(session.client_id)})


@post("/portal/language", name="portal.language")
async def set_language(request: Request) -> Response:
    form = await form_data(request)
    lang = pick_language(form.get("lang"))
    session = await load(request)
    if session:
        await portal.set_language(session, lang)
    response = redirect(request, _next(request, form))
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


# --- profile -----------------------------------------------------------------------------------------------


async def _profile_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    session = await signed_in(request)
    current = await status.profile(session.client_id)
    return page(
        request,
        "client/profile.html",
        {
            "form": refusal.form or current,
            "errors": refusal.errors,
            "error": refusal.message,
            "countries": country_names(language(request)),
        },
        status=refusal.status,
    )


@get("/portal/profile", name="portal.profile")
async def profile_form(request: Request) -> Response:
    return await _profile_page(request)


@post("/portal/profile", name="portal.profile.save")
@shows_again(_profile_page)
async def profile_save(request: Request) -> Response:
    session = await signed_in(request)
    form = await form_data(request)
    actor = portal.client_actor(
        {"reference": session.reference, "email": session.email}, request_meta(request)
    )
    await profile.update_profile(actor, session.client_id, form)
    response = redirect(
        request, "/portal", flash=gettext(pick_language(form.get("language")), "Your profile is saved.")
    )
    response.set_cookie(
        LANG_COOKIE, pick_language(form.get("language")), max_age=365 * 86400, samesite="lax", httponly=True
    )
    return response


# --- documents ---------------------------------------------------------------------------------------------


async def _documents_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    session = await signed_in(request)
    return page(
        request,
        "client/documents.html",
        {
            "kinds": await documents.kinds_for(session.client_id),
            "names": documents.KINDS,
            "documents": await documents.documents_of(session.client_id),
            "errors": refusal.errors,
            "error": refusal.message,
            "chosen": refusal.form.get("kind") or request.query_params.get("kind", ""),
        },
        status=refusal.status,
    )


@get("/portal/documents", name="portal.documents")
async def documents_list(request: Request) -> Response:
    return await _documents_page(request)


@post("/portal/documents", name="portal.documents.upload")
@shows_again(_documents_page, field="file")
async def documents_upload(request: Request) -> Response:
    session = await signed_in(request)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationFailed(CHOOSE_FILE, field_errors={"file": CHOOSE_FILE})
    content = await upload.read(MAX_BYTES + 1)
    kind = form.get("kind")
    await documents.receive(
        portal.client_actor({"reference": session.reference, "email": session.email}, request_meta(request)),
        session.client_id,
        kind if isinstance(kind, str) else "",
        upload.filename or "",
        content,
        source="portal",
    )
    return redirect(request, "/portal/documents", flash=gettext(language(request), "Received. Thank you."))


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
            home,
            set_language,
            documents_list,
            documents_upload,
            profile_form,
            profile_save,
        ],
        exception_handlers={SignInRequired: to_sign_in, DomainError: portal_error},
    )
