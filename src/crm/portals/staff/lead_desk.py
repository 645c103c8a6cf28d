"""Running the sales desk: pools and members, agents' shifts and days off, intake sources and their keys."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import ServerSentEvent

from crm.core.errors import DomainError, ValidationFailed
from crm.core.files.service import MAX_BYTES
from crm.core.guards import current_actor, requires
from crm.core.org.entities import teams_visible_to
from crm.core.permissions import Permission
from crm.core.web import form_data, parse_int, redirect, render, render_block
from crm.leads import imports, pools, sources
from crm.leads.queries import agents_for
from crm.leads.rules import DAYS, SHARING
from crm.portals.staff.lead_routing import _entities, _entity
from crm.portals.staff.live import job_progress_stream
from crm.portals.staff.navigation import STAFF_NAV

MANAGE = [requires(Permission.LEADS_ROUTING_MANAGE)]


async def _pools_page(request: Request, entity_id: int, form: dict | None = None, errors: dict | None = None,
                      status: int = 200) -> Response:
    actor = current_actor(request)
    teams = [t for t in await teams_visible_to(actor) if t["entity"] == entity_id]
    return render(request, "staff/leads/pools.html", {"sharing": SHARING,
        "entity_id": entity_id, "entities": _entities(request), "pools": await pools.pools_in(actor, entity_id),
        "agents": await pools.agents_overview(actor, entity_id), "teams": teams, "form": form or {},
        "errors": errors or {}}, status=status)


@get("/leads/pools", name="staff.pools.list", guards=MANAGE)
async def pool_list(request: Request, entity: FromQuery[str] = "") -> Response:
    return await _pools_page(request, _entity(request, entity))


@post("/leads/pools", name="staff.pools.create", guards=MANAGE)
async def pool_create(request: Request) -> Response:
    form = await form_data(request)
    entity_id = _entity(request, form.get("entity"))
    try:
        pool_id = await pools.create_pool(current_actor(request), entity_id, form)
    except DomainError as exc:
        return await _pools_page(request, entity_id, form, exc.field_errors or {"name": exc.message}, exc.status_code)
    return redirect(request, f"/leads/pools/{pool_id}", flash="Pool created; add its members.")


async def _pool_page(request: Request, pool_id: int, errors: dict | None = None, status: int = 200) -> Response:
    actor = current_actor(request)
    row = await pools.pool(actor, pool_id)
    return render(request, "staff/leads/pool.html", {"sharing": SHARING,
        "pool": row, "members": await pools.members(row), "errors": errors or {},
        "agents": await agents_for(actor, row["entity_id"]),
        "teams": [t for t in await teams_visible_to(actor) if t["entity"] == row["entity_id"]],
        "others": [p for p in await pools.pools_in(actor, row["entity_id"]) if p["id"] != pool_id]}, status=status)


@get("/leads/pools/{pool_id:int}", name="staff.pools.detail", guards=MANAGE)
async def pool_page(request: Request, pool_id: FromPath[int]) -> Response:
    return await _pool_page(request, pool_id)


@post("/leads/pools/{pool_id:int}", name="staff.pools.update", guards=MANAGE)
async def pool_update(request: Request, pool_id: FromPath[int]) -> Response:
    actor = current_actor(request)
    form = await form_data(request)
    try:
        if form.get("action") == "member":
            await pools.set_member(actor, pool_id, parse_int(form.get("agent")), form.get("weight"), form.get("cap"),
                                   form.get("member_active", "on") == "on")
            message = "Member saved."
        else:
            await pools.update_pool(actor, pool_id, form)
            message = "Pool saved."
    except DomainError as exc:
        return await _pool_page(request, pool_id, exc.field_errors or {"name": exc.message}, exc.status_code)
    return redirect(request, f"/leads/pools/{pool_id}", flash=message)


async def _agent_page(request: Request, agent_id: int, form: dict | None = None, errors: dict | None = None,
                      status: int = 200) -> Response:
    agent = await pools.schedule(current_actor(request), agent_id)
    form = form or {"timezone": agent["timezone"], **{f"hours_{d}": ", ".join(f"{a}-{b}" for a, b in agent["hours"].get(d, []))
                                                     for d in DAYS}}
    return render(request, "staff/leads/agent.html", {"agent": agent, "form": form, "errors": errors or {}, "days": DAYS},
                  status=status)


@get("/leads/agents/{agent_id:int}", name="staff.agents.schedule", guards=MANAGE)
async def agent_page(request: Request, agent_id: FromPath[int]) -> Response:
    return await _agent_page(request, agent_id)


@post("/leads/agents/{agent_id:int}", name="staff.agents.update", guards=MANAGE)
async def agent_update(request: Request, agent_id: FromPath[int]) -> Response:
    actor = current_actor(request)
    form = await form_data(request)
    try:
        if form.get("action") == "day_off":
            await pools.add_day_off(actor, agent_id, form.get("day", ""), form.get("note", ""))
        else:
            await pools.set_schedule(actor, agent_id, form)
    except DomainError as exc:
        return await _agent_page(request, agent_id, form if form.get("action") != "day_off" else None,
                                 exc.field_errors or {"timezone": exc.message}, exc.status_code)
    return redirect(request, f"/leads/agents/{agent_id}", flash="Saved.")


async def _sources_page(request: Request, form: dict | None = None, errors: dict | None = None,
                        credential: tuple[str, str] | None = None, status: int = 200) -> Response:
    return render(request, "staff/leads/sources.html", {
        "sources": await sources.list_sources(current_actor(request)), "entities": _entities(request),
        "kinds": sources.KINDS, "form": form or {}, "errors": errors or {}, "credential": credential,
        "base_url": request.app.state.settings.base_url.rstrip("/")}, status=status)


@get("/leads/sources", name="staff.sources.list", guards=MANAGE)
async def source_list(request: Request) -> Response:
    return await _sources_page(request)


@post("/leads/sources", name="staff.sources.create", guards=MANAGE)
async def source_create(request: Request) -> Response:
    form = await form_data(request)
    try:
        source, credential = await sources.create_source(
            current_actor(request), name=form.get("name", ""), kind=form.get("kind", ""),
            entity_id=parse_int(form.get("entity")), source_label=form.get("source_label", ""))
    except DomainError as exc:
        return await _sources_page(request, form, exc.field_errors or {"name": exc.message}, status=exc.status_code)
    return await _sources_page(request, credential=(source["name"], credential))


@post("/leads/sources/{source_id:int}", name="staff.sources.update", guards=MANAGE)
async def source_update(request: Request, source_id: FromPath[int]) -> Response:
    actor = current_actor(request)
    form = await form_data(request)
    try:
        if form.get("action") == "rotate":
            credential = await sources.rotate(actor, source_id, form.get("reason", ""))
            name = next((s["name"] for s in await sources.list_sources(actor) if s["id"] == source_id), "")
            return await _sources_page(request, credential=(name, credential))
        await sources.set_active(actor, source_id, form.get("action") == "enable", form.get("reason", ""))
    except DomainError as exc:
        return await _sources_page(request, errors=exc.field_errors or {"form": exc.message}, status=exc.status_code)
    return redirect(request, "/leads/sources", flash="Saved.")


async def _imports_page(request: Request, errors: dict | None = None, status: int = 200) -> Response:
    return render(request, "staff/leads/imports.html", {
        "imports": await imports.recent(current_actor(request)), "entities": _entities(request),
        "errors": errors or {}}, status=status)


@get("/leads/imports", name="staff.imports.list", guards=MANAGE)
async def import_list(request: Request) -> Response:
    return await _imports_page(request)


@post("/leads/imports", name="staff.imports.start", guards=MANAGE)
async def import_start(request: Request) -> Response:
    form = await request.form()
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile):
            raise ValidationFailed("Choose a file", field_errors={"file": "Choose a CSV file."})
        content = await upload.read(MAX_BYTES + 1)
        entity = form.get("entity")
        import_id = await imports.start(current_actor(request), parse_int(entity), upload.filename or "", content,
                                        route=form.get("route") == "on")
    except DomainError as exc:
        return await _imports_page(request, exc.field_errors or {"file": exc.message}, exc.status_code)
    return redirect(request, f"/leads/imports/{import_id}", flash="Import started.")


@get("/leads/imports/{import_id:int}", name="staff.imports.detail", guards=MANAGE)
async def import_page(request: Request, import_id: FromPath[int]) -> Response:
    return render(request, "staff/leads/import.html", {"imp": await imports.get(current_actor(request), import_id)},
                  fragment="progress")


@get("/leads/imports/{import_id:int}/live", name="staff.imports.live", guards=MANAGE, opt={"stream": True})
async def import_live(request: Request, import_id: FromPath[int]) -> ServerSentEvent:
    actor = current_actor(request)
    imp = await imports.get(actor, import_id)

    async def progress() -> str:
        return render_block(request, "staff/leads/import.html", "progress", {"imp": await imports.get(actor, import_id)})

    return job_progress_stream(request, imp["job_id"], progress)


handlers = [import_list, import_start, import_page, import_live, pool_list, pool_create, pool_page, pool_update, agent_page, agent_update, source_list, source_create,
            source_update]

STAFF_NAV.add("Sales desk", "Pools & shifts", "/leads/pools", Permission.LEADS_ROUTING_MANAGE, order=50)
STAFF_NAV.add("Sales desk", "Intake sources", "/leads/sources", Permission.LEADS_ROUTING_MANAGE, order=60)
STAFF_NAV.add("Sales desk", "Lead imports", "/leads/imports", Permission.LEADS_ROUTING_MANAGE, order=70)
