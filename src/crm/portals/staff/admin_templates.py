"""Notification templates: the list, one template's editor with preview and version history."""

from litestar import Request, Response, get, post
from litestar.params import FromPath

from crm.core.errors import DomainError
from crm.core.guards import current_actor, requires
from crm.core.notifications import templates
from crm.core.permissions import Permission
from crm.core.scope import group_level
from crm.core.web import NO_REFUSAL, Refusal, form_data, redirect, render, shows_again
from crm.portals.staff.navigation import STAFF_NAV

GUARD = [requires(Permission.SYSTEM_TEMPLATES_MANAGE)]


@get("/admin/notification-templates", name="staff.templates.list", guards=GUARD)
async def template_list(request: Request) -> Response:
    rows = [(spec, await templates.current(spec.key)) for spec in templates.template_specs()]
    return render(request, "staff/admin/templates.html", {"rows": rows})


async def _editor(
    request: Request, refusal: Refusal = NO_REFUSAL, *, key: str, preview: tuple[str, str] | None = None
) -> Response:
    spec = templates.template_spec(key)
    wording = await templates.current(key)
    form = refusal.form or {"title": wording["title"], "body": wording["body"]}
    errors, status = refusal.errors, refusal.status
    if preview is None and not errors:
        try:
            preview = templates.check(spec, form["title"], form["body"])
        except DomainError:
            preview = None
    return render(
        request,
        "staff/admin/template_edit.html",
        {
            "spec": spec,
            "wording": wording,
            "form": form,
            "errors": errors,
            "preview": preview,
            "versions": await templates.versions(key),
            "may_edit": await group_level(current_actor(request), Permission.SYSTEM_TEMPLATES_MANAGE),
        },
        status=status,
    )


@get("/admin/notification-templates/{key:str}", name="staff.templates.edit", guards=GUARD)
async def edit(request: Request, key: FromPath[str]) -> Response:
    return await _editor(request, key=key)


@post(
    "/admin/notification-templates/{key:str}",
    name="staff.templates.save",
    guards=GUARD,
    opt={"group_level": True},
)
@shows_again(_editor, field="title")
async def save(request: Request, key: FromPath[str]) -> Response:
    form = await form_data(request)
    if form.get("action") == "preview":
        preview = templates.check(templates.template_spec(key), form.get("title", ""), form.get("body", ""))
        return await _editor(request, Refusal(form=form), key=key, preview=preview)
    version = await templates.save(
        current_actor(request), key, form.get("title", ""), form.get("body", ""), form.get("reason", "")
    )
    return redirect(request, f"/admin/notification-templates/{key}", flash=f"Saved as version {version}.")


handlers = [template_list, edit, save]

STAFF_NAV.add(
    "Admin",
    "Notification templates",
    "/admin/notification-templates",
    Permission.SYSTEM_TEMPLATES_MANAGE,
    order=70,
)
