"""Legal entities and their teams."""

from litestar import Request, Response, get, post

from crm.core.errors import DomainError
from crm.core.guards import current_actor, requires
from crm.core.org import entities as org
from crm.core.org.tables import StaffUser, TeamKind
from crm.core.permissions import Permission
from crm.core.web import form_data, parse_int, redirect, render
from crm.portals.staff.navigation import STAFF_NAV

MANAGE = [requires(Permission.ACCESS_ENTITY_MANAGE)]


async def _page(request: Request, *, entity_form=None, team_form=None, errors=None, error=None, status=200) -> Response:
    actor = current_actor(request)
    return render(request, "staff/admin/entities.html", {
        "entities": await org.entities_visible_to(actor), "teams": await org.teams_visible_to(actor),
        "regulators": org.REGULATORS, "team_kinds": list(TeamKind),
        "leads": await StaffUser.select(StaffUser.id, StaffUser.full_name).where(StaffUser.active.eq(True)).order_by(StaffUser.full_name),
        "manageable": [e for e in actor.entity_ids if actor.can(Permission.ACCESS_ENTITY_MANAGE, e)],
        "entity_form": entity_form or {}, "team_form": team_form or {}, "errors": errors or {}, "error": error,
    }, status=status)


@get("/admin/entities", name="staff.admin.entities", guards=MANAGE)
async def entities(request: Request) -> Response:
    return await _page(request)


@post("/admin/entities", name="staff.admin.entity_create", guards=MANAGE)
async def entity_create(request: Request) -> Response:
    form = await form_data(request)
    try:
        await org.create_entity(current_actor(request), form)
    except DomainError as exc:
        return await _page(request, entity_form=form, errors=exc.field_errors, error=exc.message, status=exc.status_code)
    return redirect(request, "/admin/entities", flash="Legal entity created.")


@post("/admin/teams", name="staff.admin.team_create", guards=MANAGE)
async def team_create(request: Request) -> Response:
    form = await form_data(request)
    try:
        await org.create_team(current_actor(request), parse_int(form.get("entity")), form)
    except DomainError as exc:
        return await _page(request, team_form=form, errors=exc.field_errors, error=exc.message, status=exc.status_code)
    return redirect(request, "/admin/entities", flash="Team created.")


handlers = [entities, entity_create, team_create]

STAFF_NAV.add("Admin", "Entities & teams", "/admin/entities", Permission.ACCESS_ENTITY_MANAGE, order=40)
