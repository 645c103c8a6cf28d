"""Sign-in, MFA enrolment and verification, sign-out, password change, entity switcher."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromQuery

from crm.core.errors import DomainError
from crm.core.guards import current_actor
from crm.core.inputs import parse_int
from crm.core.web import NO_REFUSAL, Refusal, form_data, redirect, render, shows_again
from crm.identity import accounts, service, sessions, sso
from crm.portals.staff.middleware import SESSION_COOKIE

SSO_COOKIE = "crm_sso"

SESSION_ENDED = {
    "idle_timeout": "You were signed out after 30 minutes without activity.",
    "absolute_timeout": "Your session reached its maximum length. Please sign in again.",
    "pending_timeout": "The sign-in took too long. Please start again.",
    "user_deactivated": "This account is deactivated.",
}


def _safe_next(raw: str | None) -> str:
    # Only local paths: an open redirect after sign-in would be a phishing aid.
    return raw if raw and raw.startswith("/") and not raw.startswith("//") else "/"


def _with_session_cookie(request: Request, response: Response, token: str) -> Response:
    settings = request.app.state.settings
    response.cookies.append(
        Cookie(
            key=SESSION_COOKIE,
            value=token,
            path="/",
            httponly=True,
            secure=settings.cookie_secure,
            samesite="lax",
        )
    )
    return response


def _pending_session(request: Request):
    session = request.scope["state"].get("session")
    return session if session is not None and not session.mfa_verified else None


async def _login_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    next_url = _safe_next(refusal.form.get("next") or request.query_params.get("next"))
    notice = None if refusal.message else SESSION_ENDED.get(request.scope["state"].get("session_ended") or "")
    return render(
        request,
        "staff/auth/login.html",
        {
            "next": next_url,
            "error": refusal.message or None,
            "notice": notice,
            "email": refusal.form.get("email", ""),
        },
        status=refusal.status,
    )


@get("/login", name="staff.auth.login_form")
async def login_form(request: Request, next: FromQuery[str | None] = None) -> Response:
    if request.scope["state"].get("actor"):
        return redirect(request, _safe_next(next))
    return await _login_page(request)


@post("/login", name="staff.auth.login")
@shows_again(_login_page)
async def login(request: Request) -> Response:
    form = await form_data(request)
    next_url = _safe_next(form.get("next"))
    result = await service.sign_in_with_password(
        form.get("email", ""),
        form.get("password", ""),
        request.scope["state"]["meta"],
        request.app.state.settings,
    )
    step = "/mfa" if result.next_step == "mfa" else "/mfa/enrol"
    return _with_session_cookie(request, redirect(request, f"{step}?next={next_url}"), result.token)


async def _mfa_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    next_url = _safe_next(refusal.form.get("next") or request.query_params.get("next"))
    return render(
        request,
        "staff/auth/mfa.html",
        {"next": next_url, "error": refusal.message or None},
        status=refusal.status,
    )


@get("/mfa", name="staff.auth.mfa_form")
async def mfa_form(request: Request) -> Response:
    session = _pending_session(request)
    if session is None:
        return redirect(request, "/login")
    if not session.mfa_enrolled:
        return redirect(request, "/mfa/enrol")
    return await _mfa_page(request)


def _after_sign_in(request: Request, result: service.SignIn, next_url: str) -> Response:
    target = "/account/password" if result.next_step == "password" else next_url
    return _with_session_cookie(request, redirect(request, target), result.token)


@post("/mfa", name="staff.auth.mfa")
@shows_again(_mfa_page)
async def mfa(request: Request) -> Response:
    session = _pending_session(request)
    if session is None:
        return redirect(request, "/login", flash="Please sign in again.", kind="warning")
    form = await form_data(request)
    result = await service.verify_mfa(
        session.user_id,
        session.id,
        form.get("code", ""),
        request.scope["state"]["meta"],
        request.app.state.settings,
    )
    return _after_sign_in(request, result, _safe_next(form.get("next")))


async def _enrol_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    session = _pending_session(request)
    secret, qr_svg = await service.start_enrolment(session.user_id)
    next_url = _safe_next(refusal.form.get("next") or request.query_params.get("next"))
    return render(
        request,
        "staff/auth/enrol.html",
        {"secret": secret, "qr_svg": qr_svg, "next": next_url, "error": refusal.message or None},
        status=refusal.status,
    )


@get("/mfa/enrol", name="staff.auth.enrol_form")
async def enrol_form(request: Request) -> Response:
    session = _pending_session(request)
    if session is None or session.mfa_enrolled:
        return redirect(request, "/login")
    return await _enrol_page(request)


@post("/mfa/enrol", name="staff.auth.enrol")
@shows_again(_enrol_page)
async def enrol(request: Request) -> Response:
    session = _pending_session(request)
    if session is None or session.mfa_enrolled:
        return redirect(request, "/login", flash="Please sign in again.", kind="warning")
    form = await form_data(request)
    next_url = _safe_next(form.get("next"))
    result, codes = await service.confirm_enrolment(
        session.user_id,
        session.id,
        form.get("code", ""),
        request.scope["state"]["meta"],
        request.app.state.settings,
    )
    target = "/account/password" if result.next_step == "password" else next_url
    response = render(request, "staff/auth/recovery_codes.html", {"codes": codes, "next": target})
    return _with_session_cookie(request, response, result.token)


@post("/logout", name="staff.auth.logout")
async def logout(request: Request) -> Response:
    session = request.scope["state"].get("session")
    if session is not None:
        actor = request.scope["state"].get("actor")
        if actor is not None:
            await service.sign_out(actor, session.id)
        else:
            await sessions.end_user_sessions(session.user_id, "signed_out")
    response = redirect(request, "/login", flash="You are signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@get("/sso/login", name="staff.auth.sso_login")
async def sso_login(request: Request, next: FromQuery[str | None] = None) -> Response:
    """Send the browser to the identity provider, keeping state, nonce and PKCE verifier in a signed
    cookie."""
    settings = request.app.state.settings
    if not settings.sso_enabled:
        return redirect(request, "/login")
    url, value = await sso.begin(settings, _safe_next(next))
    response = Response("", status_code=303, headers={"Location": url})
    response.cookies.append(
        Cookie(
            key=SSO_COOKIE,
            value=value,
            path="/sso",
            httponly=True,
            secure=settings.cookie_secure,
            samesite="lax",
            max_age=sso.STATE_MAX_AGE,
        )
    )
    return response


@get("/sso/callback", name="staff.auth.sso_callback")
async def sso_callback(request: Request) -> Response:
    settings = request.app.state.settings
    params = request.query_params  # `state` is a reserved handler argument name in Litestar
    code, state, error = params.get("code", ""), params.get("state", ""), params.get("error", "")
    try:
        result, next_url = await sso.complete(
            settings,
            code=code,
            state=state,
            error=error,
            cookie=request.cookies.get(SSO_COOKIE),
            meta=request.scope["state"]["meta"],
        )
    except DomainError as exc:  # not `shows_again`: the state cookie must go with the answer
        response = await _login_page(request, Refusal(message=exc.message, status=exc.status_code))
        response.delete_cookie(SSO_COOKIE, path="/sso")
        return response
    steps = {"done": next_url, "mfa": f"/mfa?next={next_url}", "enrol": f"/mfa/enrol?next={next_url}"}
    response = _with_session_cookie(request, redirect(request, steps[result.next_step]), result.token)
    response.delete_cookie(SSO_COOKIE, path="/sso")
    return response


public_handlers = [login_form, login, mfa_form, mfa, enrol_form, enrol, logout, sso_login, sso_callback]


async def _password_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    return render(
        request,
        "staff/auth/password.html",
        {"errors": refusal.errors, "error": refusal.message or None},
        status=refusal.status,
    )


@get("/account/password", name="staff.account.password_form", opt={"allowed_during_password_change": True})
async def password_form(request: Request) -> Response:
    return await _password_page(request)


@post("/account/password", name="staff.account.password", opt={"allowed_during_password_change": True})
@shows_again(_password_page)
async def change_password(request: Request) -> Response:
    form = await form_data(request)
    await service.change_own_password(
        current_actor(request), form.get("current", ""), form.get("password", ""), form.get("confirm", "")
    )
    return redirect(request, "/", flash="Your password has been changed.")


@post("/account/focus", name="staff.account.focus", opt={"any_staff": True})
async def switch_entity(request: Request) -> Response:
    """The entity switcher: narrow every screen to one of the actor's entities (or all of them)."""
    actor = current_actor(request)
    form = await form_data(request)
    entity_id = parse_int(form.get("entity_id"))
    if entity_id is not None and entity_id not in actor.entity_ids:
        entity_id = None
    await sessions.set_focus_entity(request.scope["state"]["session"].id, entity_id)
    return redirect(request, _safe_next(form.get("next")))


async def _preferences_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    session = request.scope["state"]["session"]
    own = await accounts.own_time_zone(session.user_id)
    return render(
        request,
        "staff/auth/preferences.html",
        {"zones": accounts.TIME_ZONES, "current": own, "shown": session.time_zone, "errors": refusal.errors},
        status=refusal.status,
    )


@get("/account/preferences", name="staff.account.preferences_form", opt={"any_staff": True})
async def preferences_form(request: Request) -> Response:
    return await _preferences_page(request)


@post("/account/preferences", name="staff.account.preferences", opt={"any_staff": True})
@shows_again(_preferences_page)
async def save_preferences(request: Request) -> Response:
    form = await form_data(request)
    await accounts.set_own_time_zone(current_actor(request), form.get("time_zone"))
    return redirect(request, "/account/preferences", flash="Saved: times now show in your time zone.")


account_handlers = [password_form, change_password, switch_entity, preferences_form, save_preferences]
