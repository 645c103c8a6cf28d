"""Per-request context: request metadata, the staff session behind the cookie, and the acting user."""

from __future__ import annotations

import uuid

from litestar import Request
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from crm.core.context import Actor, RequestMeta
from crm.core.notifications.service import unread_count
from crm.core.org.entities import entity_names
from crm.core.org.grants import grants_for
from crm.identity.sessions import load_session
from crm.settings import Settings

SESSION_COOKIE = "crm_session"


def request_meta(request: Request, session_id: int | None = None) -> RequestMeta:
    client = request.scope.get("client")
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    return RequestMeta(
        ip=client[0] if client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=request_id[:64],
        session_id=str(session_id) if session_id else None,
    )


class StaffContextMiddleware(ASGIMiddleware):
    """Loads the session and builds the Actor once per request; static files and webhooks skip it."""

    scopes = (ScopeType.HTTP,)
    exclude_path_pattern = ("^/static/", "^/healthz$", "^/sandbox/oidc/")

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request: Request = Request(scope)
        meta = request_meta(request)
        session, ended = await load_session(request.cookies.get(SESSION_COOKIE), meta, self.settings)
        state = scope.setdefault("state", {})  # type: ignore[typeddict-item]
        state.update(meta=meta, session=session, session_ended=ended, actor=None)
        if session is not None:
            meta = request_meta(request, session.id)
            state["meta"] = meta
            if session.mfa_verified:
                grants = await grants_for(session.user_id)
                focus = session.focus_entity_id if session.focus_entity_id in grants else None
                state["actor"] = Actor(
                    user_id=session.user_id,
                    label=f"{session.full_name} <{session.email}>",
                    grants=grants,
                    meta=meta,
                    focus_entity_id=focus,
                )
                state["entity_names"] = await entity_names(sorted(grants))
                state["unread"] = await unread_count(session.user_id)
        await next_app(scope, receive, send)
