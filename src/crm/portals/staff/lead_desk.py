"""Running the sales desk: pools and members, agents' shifts and days off, intake sources and their keys."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import ServerSentEvent

from crm.core.errors import ValidationFailed
from crm.core.files.service import MAX_BYTES
from crm.core.guards import current_actor, requires
from crm.core.inputs import parse_int
from crm.core.org.entities import teams_visible_to
from crm.core.permissions import Permission
from crm.core.web import NO_REFUSAL, Refusal, form_data, redirect, render, render_block, shows_again
from crm.leads import imports, pools, shifts, sources
from crm.leads.queries import agents_for
from crm.leads.rules import DAYS, SHARING
from crm.portals.staff.lead_routing import _entities, _entity
from crm.portals.staff.live import job_progress_stream
from crm.portals.staff.navigation import STAFF_NAV

MANAGE = [requires(Permission.LEADS_ROUTING_MANAGE)]


async def _pools_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    actor = current_actor(request)
    entity_id = _entity(request, refusal.form.get("entity") or request.query_params.get("entity", ""))
    teams = [t for t in await teams_visible_to(actor) if t["entity"] == entity_id]
    return render(
        request,
        "staff/leads/pools.html",
        {
            "sharing": SHARING,
            "entity_id": entity_id,
            "entities": _entities(request),
            "pools": await pools.pools_in(actor, entity_id),
            "agents": await shifts.agents_overview(actor, entity_id),
            "teams": teams,
            "form": refusal.form,
            "errors": refusal.errors,
        },
        status=refusal.status,
    )


@get("/leads/pools", name="staff.pools.list", guards=MANAGE)
async def pool_list(request: Request) -> Response:
    return await _pools_page(request)


@post("/leads/pools", name="staff.pools.create", guards=MANAGE)
@shows_again(_pools_page, field="name")
async def pool_create(request: Request) -> Response:
    form = await form_data(request)
    pool_id = await pools.create_pool(current_actor(request), _entity(request, form.get("entity")), form)
    return redirect(request, f"/leads/pools/{pool_id}", flash="Pool created; add its members.")


async def _pool_page(request: Request, refusal: Refusal = NO_REFUSAL, *, pool_id: int) -> Response:
    actor = current_actor(request)
    row = await pools.pool(actor, pool_id)
    return render(
        request,
        "staff/leads/pool.html",
        {
            "sharing": SHARING,
            "pool": row,
            "members": await pools.members(row),
            "errors": refusal.errors,
            "agents": await agents_for(actor, row["entity_id"]),
            "teams": [t for t in await teams_visible_to(actor) if t["entity"] == row["entity_id"]],
            "others": [p for p in await pools.pools_in(actor, row["entity_id"]) if p["id"] != pool_id],
        },
        status=refusal.status,
    )


@get("/leads/pools/{pool_id:int}", name="staff.pools.detail", guards=MANAGE)
async def pool_page(request: Request, pool_id: FromPath[int]) -> Response:
    return await _pool_page(request, pool_id=pool_id)


@post("/leads/pools/{pool_id:int}", name="staff.pools.update", guards=MANAGE)
@shows_again(_pool_page, field="name")
async def pool_update(request: Request, pool_id: FromPath[int]) -> Response:
    await pools.update_pool(current_actor(request), pool_id, await form_data(request))
    return redirect(request, f"/leads/pools/{pool_id}", flash="Pool saved.")


@post("/leads/pools/{pool_id:int}/members", name="staff.pools.member", guards=MANAGE)
@shows_again(_pool_page, field="agent")
async def pool_member(request: Request, pool_id: FromPath[int]) -> Response:
    form = await form_data(request)
    await pools.set_member(
        current_actor(request),
        pool_id,
        parse_int(form.get("agent")),
        form.get("weight"),
        form.get("cap"),
        form.get("member_active", "on") == "on",
    )
    return redirect(request, f"/leads/pools/{pool_id}", flash="Member saved.")


async def _agent_page(request: Request, refusal: Refusal = NO_REFUSAL, *, agent_id: int) -> Response:
    agent = await shifts.schedule(current_actor(request), agent_id)
    form = (
        refusal.form
        if "timezone" in refusal.form
        else {
            "timezone": agent["timezone"],
            **{f"hours_{d}": ", ".join(f"{a}-{b}" for a, b in agent["hours"].get(d, [])) for d in DAYS},
        }
    )
    return render(
        request,
        "staff/leads/agent.html",
        {"agent": agent, "form": form, "errors": refusal.errors, "days": DAYS},
        status=refusal.status,
    )


@get("/leads/agents/{agent_id:int}", name="staff.agents.schedule", guards=MANAGE)
async def agent_page(request: Request, agent_id: FromPath[int]) -> Response:
    return await _agent_page(request, agent_id=agent_id)


@post("/leads/agents/{agent_id:int}", name="staff.agents.update", guards=MANAGE)
@shows_again(_agent_page, field="timezone")
async def agent_update(request: Request, agent_id: FromPath[int]) -> Response:
    await shifts.set_schedule(current_actor(request), agent_id, await form_data(request))
    return redirect(request, f"/leads/agents/{agent_id}", flash="Saved.")


@post("/leads/agents/{agent_id:int}/days-off", name="staff.agents.day_off", guards=MANAGE)
@shows_again(_agent_page, field="day")
async def agent_day_off(request: Request, agent_id: FromPath[int]) -> Response:
    form = await form_data(request)
    await shifts.add_day_off(current_actor(request), agent_id, form.get("day", ""), form.get("note", ""))
    return redirect(request, f"/leads/agents/{agent_id}", flash="Saved.")


async def _sources_page(
    request: Request, refusal: Refusal = NO_REFUSAL, *, credential: tuple[str, str] | None = None, **_: object
) -> Response:
    return render(
        request,
        "staff/leads/sources.html",
        {
            "sources": await sources.list_sources(current_actor(request)),
            "entities": _entities(request),
            "kinds": sources.KINDS,
            "schemes": sources.SCHEMES,
            "form": refusal.form,
            "errors": refusal.errors,
            "credential": credential,
            "base_url": request.app.state.settings.base_url.rstrip("/"),
        },
        status=refusal.status,
    )


@get("/leads/sources", name="staff.sources.list", guards=MANAGE)
async def source_list(request: Request) -> Response:
    return await _sources_page(request)


@post("/leads/sources", name="staff.sources.create", guards=MANAGE)
@shows_again(_sources_page, field="name")
async def source_create(request: Request) -> Response:
    form = await form_data(request)
    source, credential = await sources.create_source(
        current_actor(request),
        name=form.get("name", ""),
        kind=form.get("kind", ""),
        entity_id=parse_int(form.get("entity")),
        source_label=form.get("source_label", ""),
        signature_scheme=form.get("signature_scheme") or "timestamped",
    )
    return await _sources_page(request, credential=(source["name"], credential))


@post("/leads/sources/{source_id:int}/rotate", name="staff.sources.rotate", guards=MANAGE)
@shows_again(_sources_page, field="form")
async def source_rotate(request: Request, source_id: FromPath[int]) -> Response:
    actor = current_actor(request)
    credential = await sources.rotate(actor, source_id, (await form_data(request)).get("reason", ""))
    name = next((s["name"] for s in await sources.list_sources(actor) if s["id"] == source_id), "")
    return await _sources_page(request, credential=(name, credential))


@post("/leads/sources/{source_id:int}/enable", name="staff.sources.enable", guards=MANAGE)
@shows_again(_sources_page, field="form")
async def source_enable(request: Request, source_id: FromPath[int]) -> Response:
    await sources.set_active(
        current_actor(request), source_id, True, (await form_data(request)).get("reason", "")
    )
    return redirect(request, "/leads/sources", flash="Enabled.")


@post("/leads/sources/{source_id:int}/disable", name="staff.sources.disable", guards=MANAGE)
@shows_again(_sources_page, field="form")
async def source_disable(request: Request, source_id: FromPath[int]) -> Response:
    await sources.set_active(
        current_actor(request), source_id, False, (await form_data(request)).get("reason", "")
    )
    return redirect(request, "/leads/sources", flash="Disabled.")


async def _imports_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    return render(
        request,
        "staff/leads/imports.html",
        {
            "imports": await imports.recent(current_actor(request)),
            "entities": _entities(request),
            "errors": refusal.errors,
        },
        status=refusal.status,
    )


@get("/leads/imports", name="staff.imports.list", guards=MANAGE)
async def import_list(request: Request) -> Response:
    return await _imports_page(request)


@post("/leads/imports", name="staff.imports.start", guards=MANAGE)
@shows_again(_imports_page, field="file")
async def import_start(request: Request) -> Response:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationFailed("Choose a file", field_errors={"file": "Choose a CSV file."})
    content = await upload.read(MAX_BYTES + 1)
    import_id = await imports.start(
        current_actor(request),
        parse_int(form.get("entity")),
        upload.filename or "",
        content,
        route=form.get("route") == "on",
    )
    return redirect(request, f"/leads/imports/{import_id}", flash="Import started.")


@get("/leads/imports/{import_id:int}", name="staff.imports.detail", guards=MANAGE)
async def import_page(request: Request, import_id: FromPath[int]) -> Response:
    return render(
        request,
        "staff/leads/import.html",
        {"imp": await imports.get(current_actor(request), import_id)},
        fragment="progress",
    )


@get("/leads/imports/{import_id:int}/live", name="staff.imports.live", guards=MANAGE, opt={"stream": True})
async def import_live(request: Request, import_id: FromPath[int]) -> ServerSentEvent:
    actor = current_actor(request)
    imp = await imports.get(actor, import_id)

    async def progress() -> str:
        return render_block(
            request, "staff/leads/import.html", "progress", {"imp": await imports.get(actor, import_id)}
        )

    return job_progress_stream(request, imp["job_id"], progress)


handlers = [
    import_list,
    import_start,
    import_page,
    import_live,
    pool_list,
    pool_create,
    pool_page,
    pool_update,
    pool_member,
    agent_page,
    agent_update,
    agent_day_off,
    source_list,
    source_create,
    source_rotate,
    source_enable,
    source_disable,
]

STAFF_NAV.add("Sales desk", "Pools & shifts", "/leads/pools", Permission.LEADS_ROUTING_MANAGE, order=50)
STAFF_NAV.add("Sales desk", "Intake sources", "/leads/sources", Permission.LEADS_ROUTING_MANAGE, order=60)
STAFF_NAV.add("Sales desk", "Lead imports", "/leads/imports", Permission.LEADS_ROUTING_MANAGE, order=70)
