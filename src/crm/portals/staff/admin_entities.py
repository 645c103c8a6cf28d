"""Legal entities and their teams."""

from litestar import Request, Response, get, post

from crm.core.guards import current_actor, requires
from crm.core.inputs import parse_int
from crm.core.org import entities as org
from crm.core.org import staff
from crm.core.org.tables import TeamKind
from crm.core.permissions import Permission
from crm.core.web import NO_REFUSAL, Refusal, form_data, redirect, render, shows_again
from crm.portals.staff.navigation import STAFF_NAV

MANAGE = [requires(Permission.ACCESS_ENTITY_MANAGE)]


async def _page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    actor = current_actor(request)
    form, errors = refusal.form, refusal.errors
    team_form = form if form.get("form") == "team" else {}
    return render(
        request,
        "staff/admin/entities.html",
        {
            "entities": await org.entities_visible_to(actor),
            "teams": await org.teams_visible_to(actor),
            "regulators": org.REGULATORS,
            "team_kinds": list(TeamKind),
            "leads": await staff.active_staff_in(actor, Permission.ACCESS_ENTITY_MANAGE),
            "manageable": actor.entities_with(Permission.ACCESS_ENTITY_MANAGE),
            "entity_form": form if not team_form else {},
            "team_form": team_form,
            "errors": errors,
            "error": refusal.message or None,
        },
        status=refusal.status,
    )


@get("/admin/entities", name="staff.admin.entities", guards=MANAGE)
async def entities(request: Request) -> Response:
    return await _page(request)


@post("/admin/entities", name="staff.admin.entity_create", guards=MANAGE)
@shows_again(_page)
async def entity_create(request: Request) -> Response:
    await org.create_entity(current_actor(request), await form_data(request))
    return redirect(request, "/admin/entities", flash="Legal entity created.")


@post("/admin/teams", name="staff.admin.team_create", guards=MANAGE)
@shows_again(_page)
async def team_create(request: Request) -> Response:
    form = await form_data(request)
    await org.create_team(current_actor(request), parse_int(form.get("entity")), form)
    return redirect(request, "/admin/entities", flash="Team created.")


handlers = [entities, entity_create, team_create]

STAFF_NAV.add("Admin", "Entities & teams", "/admin/entities", Permission.ACCESS_ENTITY_MANAGE, order=40)
