"""What every client portal page shares: its session cookie, the signed-in client, the page's language,
rendering in it, and where a signed-out visitor is sent."""

from __future__ import annotations

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect

from crm.core.errors import DomainError
from crm.core.i18n import LANGUAGES, N_, direction, pick_language
from crm.core.web import render
from crm.identity import portal

COOKIE = "crm_portal"
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


def set_session_cookie(request: Request, response: Response, token: str) -> None:
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


def next_url(request: Request, form: dict) -> str:
    target = str(form.get("next") or request.query_params.get("next") or "/portal")
    return target if target.startswith("/portal") and "//" not in target else "/portal"
