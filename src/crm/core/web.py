"""Rendering pages and htmx fragments, flash messages, redirects and form parsing for every portal.

One URL per resource: a normal request gets the full page; an htmx request (not boosted) naming a fragment
gets only that block of the same template, so row markup exists once.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.enums import MediaType
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup, escape

from crm.core import charts
from crm.core.audit.diff import field_changes
from crm.core.errors import DomainError
from crm.core.i18n import template_gettext, template_ngettext
from crm.core.labels import LABELS
from crm.core.navigation import current_url
from crm.settings import Settings

FLASH_COOKIE = "crm_flash"
URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


def build_templates(settings: Settings) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(settings.templates_dir)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dt"] = local_time
    env.filters["relative"] = relative_in_zone
    env.filters["count"] = lambda n, cap=10_000: f"{cap:,}+" if (n or 0) > cap else f"{n or 0:,}"
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, sort_keys=True, ensure_ascii=False)
    env.globals["urlquote"] = lambda v: quote(str(v), safe="")
    env.globals["csrf"] = _csrf_input
    env.globals["public_page"] = False  # public pages set it: they look the same to signed-in staff
    env.globals["label"] = LABELS.text
    env.globals["label_tone"] = LABELS.tone
    env.globals["audit_changes"] = field_changes
    env.filters["actor"] = LABELS.actor
    env.filters["region_label"] = lambda code: LABELS.text("region", code)
    env.globals["line_chart"] = charts.line_chart
    env.globals["bar_chart"] = charts.bar_chart
    env.globals["Series"] = charts.Series
    env.globals["chart_percent"] = charts.percent
    env.globals["_"] = template_gettext  # the page's `lang` (client and partner portals; core/i18n.py)
    env.globals["ngettext"] = template_ngettext
    return env


def viewer_zone(context) -> ZoneInfo:
    """The signed-in viewer's time zone (their setting, else their home entity's), else UTC."""
    session = context.get("session")
    name = getattr(session, "time_zone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _in_zone(value: dt.datetime, zone: ZoneInfo) -> str:
    local = value.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or "UTC")


@pass_context
def local_time(context, value: dt.datetime | None) -> str:
    """A stored (UTC) time as the viewer reads it, in their time zone, with the zone's abbreviation."""
    return _in_zone(value, viewer_zone(context)) if value else ""


@pass_context
def relative_in_zone(context, value: dt.datetime | None) -> Markup:
    return relative_time(value, zone=viewer_zone(context))


def relative_time(
    value: dt.datetime | None, now: dt.datetime | None = None, zone: ZoneInfo | None = None
) -> Markup:
    """A time as people say it near now ("in 3 min", "2 h ago", "in 4 days"), in a <time> element that
    carries the exact UTC time as its title."""
    if value is None:
        return Markup("")
    now = now or dt.datetime.now(dt.UTC)
    seconds = (value - now).total_seconds()
    span = abs(seconds)
    if span < 60:
        text = "now"
    else:
        for unit, size in (("day", 86_400), ("h", 3_600), ("min", 60)):
            if span >= size:
                count = int(span // size)
                words = f"{count} {unit}{'s' if unit == 'day' and count != 1 else ''}"
                text = f"in {words}" if seconds > 0 else f"{words} ago"
                break
    exact = _in_zone(value, zone or ZoneInfo("UTC"))
    return Markup('<time datetime="{}" title="{}">{}</time>').format(value.isoformat(), exact, text)


@pass_context
def _csrf_input(context) -> Markup:
    """The hidden CSRF field; a global (not a macro) so it also works in fragments rendered alone."""
    return Markup('<input type="hidden" name="_csrf_token" value="{}">').format(escape(context["csrf_token"]))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def is_fragment_request(request: Request) -> bool:
    return is_htmx(request) and request.headers.get("hx-boosted") != "true"


def csrf_token(request: Request) -> str:
    return ScopeState.from_scope(request.scope).csrf_token or ""


def _flashes(request: Request) -> list[dict]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        items = json.loads(raw)
        return [i for i in items if isinstance(i, dict) and "message" in i][:5]
    except (ValueError, TypeError):
        return []


def _route_opt(request: Request) -> dict:
    try:
        return request.route_handler.opt
    except (KeyError, AttributeError):  # outside a route (e.g. an error before routing)
        return {}


def base_context(request: Request) -> dict[str, Any]:
    state = request.scope.get("state", {})
    actor = state.get("actor")
    menu = _route_opt(request).get("navigation")
    nav = menu.for_actor(actor) if actor and menu else []
    return {
        "request": request,
        "actor": actor,
        "session": state.get("session"),
        "entity_names": state.get("entity_names", {}),
        "unread": state.get("unread", 0),
        "csrf_token": csrf_token(request),
        "nav": nav,
        "nav_current": current_url(nav, request.url.path),
        "flashes": _flashes(request),
        "settings": request.app.state.settings,
        "current_path": request.url.path,
    }


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    fragment: str | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render a page, or only its `fragment` block for an htmx request; add `Vary: HX-Request`."""
    env: Environment = request.app.state.templates
    ctx = base_context(request) | dict(context or {})
    tmpl = env.get_template(template)
    if fragment and is_fragment_request(request):
        html = "".join(tmpl.blocks[fragment](tmpl.new_context(ctx)))
    else:
        html = tmpl.render(ctx)
    response = Response(
        html, media_type=MediaType.HTML, status_code=status, headers={"Vary": "HX-Request", **(headers or {})}
    )
    if ctx["flashes"] and not (fragment and is_fragment_request(request)):
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def render_block(request: Request, template: str, block: str, context: Mapping[str, Any]) -> str:
    """One block of a page as HTML (what live streams push: the same markup as the page and htmx
    fragments)."""
    env: Environment = request.app.state.templates
    tmpl = env.get_template(template)
    return "".join(tmpl.blocks[block](tmpl.new_context(base_context(request) | dict(context))))


def redirect(request: Request, url: str, *, flash: str | None = None, kind: str = "success") -> Response:
    """303 to `url` (or HX-Redirect for htmx), carrying an optional flash message to the next page. Characters
    a header cannot carry (a typed value in a query) are percent-encoded; what is already encoded stays."""
    url = quote(url, safe=URL_SAFE)
    if is_htmx(request):
        response: Response = Response("", status_code=200, headers={"HX-Redirect": url})
    else:
        response = Response("", status_code=303, headers={"Location": url})
    if flash:
        set_flash(response, flash, kind)
    return response


def set_flash(response: Response, message: str, kind: str = "success") -> None:
    response.cookies.append(
        Cookie(
            key=FLASH_COOKIE,
            value=json.dumps([{"message": message, "kind": kind}]),
            path="/",
            httponly=True,
            samesite="lax",
            max_age=60,
        )
    )


def attachment_disposition(filename: str) -> str:
    """`Content-Disposition: attachment` for any file name (RFC 6266): an ASCII fallback, and the real name
    UTF-8 percent-encoded in `filename*` (RFC 5987) so that "отчёт.txt" downloads as itself."""
    name = "".join(ch for ch in filename if ch.isprintable() and ch not in '"\\/') or "download"
    fallback = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def form_data(request: Request) -> dict[str, str]:
    """The submitted form as single values, stripped (multi-value fields use `form_list`)."""
    form = await request.form()
    return {k: (v.strip() if isinstance(v, str) else v) for k, v in form.items()}


async def form_list(request: Request, name: str) -> list[str]:
    form = await request.form()
    return [v for v in form.getall(name) if isinstance(v, str)] if name in form else []


@dataclass(frozen=True)
class Refusal:
    """A refused form submission, for showing the form again: the errors per field, the message, the status
    the page answers with, and the values typed (nothing typed is lost)."""

    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""
    status: int = 200
    form: dict[str, Any] = field(default_factory=dict)


NO_REFUSAL = Refusal()


def shows_again(page: Callable[..., Awaitable[Response]], *, field: str = "form"):
    """Decorate a form handler (under its route decorator): a DomainError it raises becomes
    `page(request, refusal, **path_params)`, the same page again with the errors (the message goes under
    `field` when the error names no field), the values typed and the error's status. One place instead of a
    try/except in every handler."""

    def decorate(handler):
        @functools.wraps(handler)
        async def run(**kwargs):
            try:
                return await handler(**kwargs)
            except DomainError as exc:
                request: Request = kwargs["request"]
                typed = await form_data(request) if request.method == "POST" else {}
                refusal = Refusal(
                    exc.field_errors or {field: exc.message}, exc.message, exc.status_code, typed
                )
                return await page(
                    request, refusal, **{k: v for k, v in kwargs.items() if k in request.path_params}
                )

        return run

    return decorate
