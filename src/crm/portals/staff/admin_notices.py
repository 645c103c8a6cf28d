"""What prospects see before they are clients: each entity's privacy notice (drafted here, published by a
second person's approval) and the brands that dress the public pages."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath

from crm.clients import brands, notices
from crm.core.errors import NotFound
from crm.core.guards import current_actor, requires
from crm.core.permissions import Permission
from crm.core.scope import group_level
from crm.core.web import NO_REFUSAL, Refusal, form_data, redirect, render, shows_again
from crm.portals.staff.navigation import STAFF_NAV

NOTICES = [requires(Permission.CLIENTS_NOTICE_MANAGE)]
BRANDS = [requires(Permission.ACCESS_ENTITY_MANAGE)]


@get("/admin/privacy-notices", name="staff.notices.list", guards=NOTICES)
async def notice_list(request: Request) -> Response:
    return render(
        request, "staff/admin/notices.html", {"entities": await notices.overview(current_actor(request))}
    )


async def _editor(request: Request, refusal: Refusal = NO_REFUSAL, *, entity_id: int) -> Response:
    actor = current_actor(request)
    entity = next((e for e in await notices.overview(actor) if e["id"] == entity_id), None)
    if entity is None:
        raise NotFound("Legal entity")
    working = await notices.notice(actor, entity["working"]["id"]) if entity["working"] else None
    current = await notices.published(entity_id)
    form = refusal.form or {
        "title": (working or current or {}).get("title", "Privacy notice for prospective clients"),
        "body": (working or current or {}).get("body", ""),
    }
    preview = form if refusal.form.get("action") == "preview" and not refusal.errors else None
    return render(
        request,
        "staff/admin/notice_edit.html",
        {
            "entity": entity,
            "working": working,
            "current": current,
            "form": form,
            "errors": refusal.errors,
            "preview_blocks": notices.blocks(preview["body"]) if preview else None,
            "versions": await notices.versions(entity_id),
            "blocks": notices.blocks,
        },
        status=refusal.status,
    )


@get("/admin/privacy-notices/{entity_id:int}", name="staff.notices.edit", guards=NOTICES)
async def notice_edit(request: Request, entity_id: FromPath[int]) -> Response:
    return await _editor(request, entity_id=entity_id)


@post("/admin/privacy-notices/{entity_id:int}", name="staff.notices.save", guards=NOTICES)
@shows_again(_editor, field="body")
async def notice_save(request: Request, entity_id: FromPath[int]) -> Response:
    form = await form_data(request)
    actor = current_actor(request)
    if form.get("action") == "preview":
        notices.check(form)
        return await _editor(request, Refusal(form=form), entity_id=entity_id)
    notice_id = await notices.save_draft(actor, entity_id, form)
    if form.get("action") != "submit":
        return redirect(request, f"/admin/privacy-notices/{entity_id}", flash="Draft saved.")
    request_id = await notices.submit(actor, notice_id, form.get("reason", ""))
    return redirect(
        request,
        f"/admin/privacy-notices/{entity_id}",
        flash=f"Sent for approval (request #{request_id}); another person publishes it.",
    )


@get("/admin/brands", name="staff.brands.list", guards=BRANDS)
async def brand_list(request: Request) -> Response:
    return await _brands_page(request)


async def _brands_page(
    request: Request, refusal: Refusal = NO_REFUSAL, brand_id: int | None = None
) -> Response:
    rows = await brands.brands()
    editing = next((b for b in rows if b["id"] == brand_id), None)
    if brand_id is not None and editing is None:
        raise NotFound("Brand")
    return render(
        request,
        "staff/admin/brands.html",
        {
            "brands": rows,
            "editing": editing,
            "form": refusal.form or editing or {"accent": "#1d4ed8", "active": True},
            "errors": refusal.errors,
            "may_edit": await group_level(current_actor(request), Permission.ACCESS_ENTITY_MANAGE),
        },
        status=refusal.status,
    )


@get("/admin/brands/{brand_id:int}", name="staff.brands.edit", guards=BRANDS)
async def brand_edit(request: Request, brand_id: FromPath[int]) -> Response:
    return await _brands_page(request, brand_id=brand_id)


@post("/admin/brands", name="staff.brands.create", guards=BRANDS, opt={"group_level": True})
@shows_again(_brands_page, field="name")
async def brand_create(request: Request) -> Response:
    await brands.save(current_actor(request), None, await form_data(request))
    return redirect(request, "/admin/brands", flash="Brand added.")


@post("/admin/brands/{brand_id:int}", name="staff.brands.save", guards=BRANDS, opt={"group_level": True})
@shows_again(_brands_page, field="name")
async def brand_save(request: Request, brand_id: FromPath[int]) -> Response:
    await brands.save(current_actor(request), brand_id, await form_data(request))
    return redirect(request, "/admin/brands", flash="Brand saved.")


handlers = [notice_list, notice_edit, notice_save, brand_list, brand_edit, brand_create, brand_save]

STAFF_NAV.add(
    "Admin", "Privacy notices", "/admin/privacy-notices", Permission.CLIENTS_NOTICE_MANAGE, order=72
)
STAFF_NAV.add("Admin", "Brands", "/admin/brands", Permission.ACCESS_ENTITY_MANAGE, order=74)
