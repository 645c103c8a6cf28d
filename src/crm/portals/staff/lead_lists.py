"""The lead lists: my leads (live, in working order), and the desk's all and unassigned leads (live, sortable,
keyset-paged, saved views, tick-and-assign, CSV export)."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import ServerSentEvent

from crm.core.errors import DomainError, NotFound
from crm.core.guards import current_actor, requires
from crm.core.inputs import parse_int
from crm.core.permissions import Permission
from crm.core.web import attachment_disposition, form_data, form_list, redirect, render, render_block
from crm.identity import views
from crm.leads import queries, service
from crm.leads.exports import export_leads
from crm.leads.live import CHANNEL
from crm.leads.tables import LOST_REASONS, LeadStatus
from crm.portals.staff.live import live_stream
from crm.portals.staff.navigation import STAFF_NAV

VIEW = [requires(Permission.LEADS_LEAD_VIEW)]
TEAM = [requires(Permission.LEADS_TEAM_VIEW)]
CHOICES = {"statuses": list(LeadStatus), "lost_reasons": LOST_REASONS, "outcomes": service.CALL_OUTCOMES}
TEMPLATES = {
    "mine": "staff/leads/mine.html",
    "all": "staff/leads/list.html",
    "unassigned": "staff/leads/list.html",
}


async def _desk_agents(actor) -> list[dict]:
    """Who the desk's leads can be handed to: staff who work leads in the entities the actor leads."""
    seen: dict[int, dict] = {}
    for entity_id in actor.entities_with(Permission.LEADS_TEAM_VIEW):
        for agent in await queries.agents_for(actor, entity_id):
            seen.setdefault(agent["id"], agent)
    return sorted(seen.values(), key=lambda a: a["full_name"])


async def _list_context(request: Request, view: str) -> dict:
    actor = current_actor(request)
    params = {k: v for k, v in request.query_params.items() if k != "view"}
    f = queries.LeadFilter.from_params(params, view=view)
    rows, cursor = await queries.list_leads(actor, f)
    live_query = urlencode({"view": view, **{k: v for k, v in params.items() if v}})  # this very page
    sort = queries.sort_of(f, f"/leads/{view}", params)
    saved = await views.views_of(actor, f"leads.{view}") if view != "mine" else []
    return {
        "saved_views": saved,
        "view_query": urlencode([(k, v) for k, v in params.items() if v and k != "after"]),
        "leads": rows,
        "sort": sort,
        "next_url": sort.page_url(cursor) if cursor else None,
        "f": f,
        "view": view,
        "counts": await queries.counts(actor, f),
        "live_query": live_query,
        "presence": await service.presence_of(actor.user_id),
        "agents": await _desk_agents(actor) if view != "mine" else [],
        "bulk_error": "",
        **CHOICES,
    }


@get("/leads/{view:str}/export.csv", name="staff.leads.export", guards=TEAM)
async def export_list(request: Request, view: FromPath[str]) -> Response:
    """The list (all or unassigned) with its filter as CSV, audited; contact data stays masked."""
    if view not in ("all", "unassigned"):
        raise NotFound("List")
    actor = current_actor(request)
    params = {k: v for k, v in request.query_params.items() if k not in ("view", "after")}
    text, _rows = await export_leads(actor, queries.LeadFilter.from_params(params, view=view))
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": attachment_disposition(f"leads-{view}.csv")},
    )


@post("/leads/bulk-assign", name="staff.leads.bulk_assign", guards=TEAM)
async def bulk_assign(request: Request) -> Response:
    """Assign the ticked leads of a desk list to one agent (or back to the queue), with a reason; audited."""
    form = await form_data(request)
    back = form.get("next", "") if form.get("next", "").startswith("/leads/") else "/leads/all"
    try:
        count = await service.assign_many(
            current_actor(request),
            await form_list(request, "leads"),
            parse_int(form.get("agent")),
            form.get("reason", ""),
        )
    except DomainError as exc:  # the desk list again, with what to fix (422), nothing assigned
        problem = "; ".join(getattr(exc, "field_errors", {}).values()) or str(exc)
        context = await _list_context(request, "all") | {"bulk_error": f"Nothing was assigned: {problem}"}
        return render(request, TEMPLATES["all"], context, status=422)
    return redirect(request, back, flash=f"{count} lead{'s' if count != 1 else ''} assigned.")


@get("/leads", name="staff.leads.mine", guards=VIEW)
async def my_leads(request: Request) -> Response:
    return render(request, TEMPLATES["mine"], await _list_context(request, "mine"), fragment="results")


@get("/leads/all", name="staff.leads.all", guards=TEAM)
async def all_leads(request: Request) -> Response:
    return render(request, TEMPLATES["all"], await _list_context(request, "all"), fragment="results")


@get("/leads/unassigned", name="staff.leads.unassigned", guards=TEAM)
async def unassigned(request: Request) -> Response:
    return render(
        request, TEMPLATES["unassigned"], await _list_context(request, "unassigned"), fragment="results"
    )


@get("/leads/live", name="staff.leads.live", guards=VIEW, opt={"stream": True})
async def live(request: Request, view: FromQuery[str] = "mine") -> ServerSentEvent:
    """The live block of a lead list; a change is re-rendered for lists it may concern."""
    actor = current_actor(request)
    view = view if view in TEMPLATES else "mine"
    if view != "mine":
        actor.require(Permission.LEADS_TEAM_VIEW)
    visible = set(
        actor.entities_with(Permission.LEADS_LEAD_VIEW if view == "mine" else Permission.LEADS_TEAM_VIEW)
    )

    async def rows() -> str:
        return render_block(request, TEMPLATES[view], "live_rows", await _list_context(request, view))

    def concerns(notice: dict) -> bool:
        if notice.get("entity_id") not in visible:
            return False
        return view != "mine" or actor.user_id in (notice.get("owner_id"), notice.get("previous_owner_id"))

    return live_stream(request, CHANNEL, rows, concerns)


handlers = [export_list, bulk_assign, my_leads, all_leads, unassigned, live]

STAFF_NAV.add("Work", "My leads", "/leads", Permission.LEADS_LEAD_VIEW, order=20)
STAFF_NAV.add("Sales desk", "All leads", "/leads/all", Permission.LEADS_TEAM_VIEW, order=10)
STAFF_NAV.add("Sales desk", "Unassigned leads", "/leads/unassigned", Permission.LEADS_TEAM_VIEW, order=20)
