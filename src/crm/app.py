"""create_app(settings): routers, middleware, exception handlers and the database pool lifespan."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from urllib.parse import quote

from litestar import Litestar, Request, Response, get
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.exceptions import PermissionDeniedException as LitestarPermissionDenied
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin
from litestar.static_files import create_static_files_router

from crm.areas import load_areas
from crm.core.boundary import check_request
from crm.core.db import engine, start_pool
from crm.core.errors import DomainError, NotAuthenticated
from crm.core.guards import PasswordChangeRequired
from crm.core.web import build_templates, is_fragment_request, is_htmx, redirect, render
from crm.portals.staff import staff_routers, staff_screens
from crm.portals.staff.middleware import StaffContextMiddleware
from crm.settings import Settings

log = logging.getLogger("crm")


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "message": message},
        fragment="error",
        status=status,
    )


def handle_domain_error(request: Request, exc: DomainError) -> Response:
    if isinstance(exc, NotAuthenticated):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(request, f"/login?next={quote(target, safe='')}")
    if isinstance(exc, PasswordChangeRequired):
        return redirect(request, "/account/password", flash=exc.message, kind="warning")
    titles = {
        400: "Bad request",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        422: "Please check your input",
        423: "Account locked",
    }
    return _error_page(request, exc.status_code, titles.get(exc.status_code, "Error"), exc.message)


def handle_http_error(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, LitestarPermissionDenied) and "CSRF" in str(exc.detail):
        return _error_page(
            request, 403, "Form expired", "This form has expired. Reload the page and try again."
        )
    if isinstance(exc, NotFoundException):
        return _error_page(request, 404, "Not found", "There is nothing at this address.")
    if isinstance(exc, ValidationException):
        return _error_page(request, 400, "Bad request", "The request had a value we could not read.")
    return _error_page(request, exc.status_code, "Error", str(exc.detail))


def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    if request.app.debug:
        raise exc
    return _error_page(
        request,
        500,
        "Something went wrong",
        "The error was logged. Nothing you saved was lost; please try again.",
    )


@get("/healthz", sync_to_thread=False, include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    settings.refuse_unsafe_production()

    @asynccontextmanager
    async def database_pool(app: Litestar):
        db = engine()
        if settings.db_pool:
            await start_pool(1, settings.db_pool_max)
        try:
            yield
        finally:
            if settings.db_pool and db.pool is not None:
                await db.close_connection_pool()

    load_areas()  # approval kinds, case kinds, subscribers, jobs, templates, the mail transport

    from crm.portals.api.leads import api_router
    from crm.portals.client import portal_router
    from crm.portals.public.register import public_router
    from crm.webhooks import webhook_router

    handlers = [
        healthz,
        create_static_files_router(
            path="/static", directories=[settings.static_dir], include_in_schema=False
        ),
        *staff_routers(),
        public_router(),
        portal_router(),
        api_router(),
        webhook_router(),
    ]
    if settings.oidc_sandbox:
        from crm.integrations.oidc.sandbox import sandbox_router

        handlers.append(sandbox_router())
    if settings.mail_sandbox_dir:
        from crm.integrations.mail.sandbox import mail_sandbox_router

        handlers.append(staff_screens(mail_sandbox_router()))
    app = Litestar(
        route_handlers=handlers,
        middleware=[StaffContextMiddleware(settings)],
        before_request=check_request,  # every value a handler gets is one it can hold
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.cookie_secure,
            cookie_samesite="lax",
            cookie_name="crm_csrf",
            header_name="x-csrftoken",
            # Exact routes and prefixes, anchored: "/leads/x/merge/healthzx" is checked like any form.
            exclude=[r"^/static/", r"^/healthz$", r"^/webhooks/", r"^/sandbox/oidc/", r"^/api/"],
        ),
        exception_handlers={
            DomainError: handle_domain_error,
            HTTPException: handle_http_error,
            Exception: handle_unexpected,
        },
        lifespan=[database_pool],
        # The staff portal is HTML and left out of the schema; the machine API documents itself at
        # /api/schema.
        openapi_config=OpenAPIConfig(
            title="Brokerage CRM API",
            version="1",
            path="/api/schema",
            # Offline: the viewer is vendored (static/vendor/VERSIONS.md), with no web fonts or CDN favicon.
            render_plugins=[
                RedocRenderPlugin(
                    js_url="/static/vendor/redoc-2.4.0.standalone.js",
                    google_fonts=False,
                    favicon="",
                    path="/",
                ),
                JsonRenderPlugin(path="/openapi.json"),
            ],
            description="Lead intake and signals. Authenticate with `Authorization: Bearer <API key>` "
            "(one key per intake source, created by a sales team lead under Leads → Sources).",
        ),
        debug=settings.debug,
    )
    app.state.settings = settings
    app.state.templates = build_templates(settings)
    return app


def create_app_from_env() -> Litestar:
    """The ASGI factory uvicorn uses (`crm web`)."""
    return create_app(Settings.from_env())


__all__ = ["create_app", "create_app_from_env", "is_htmx", "is_fragment_request"]
