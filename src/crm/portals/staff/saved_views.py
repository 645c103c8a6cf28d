"""Saved views of the lists: save the current filter and order under a name, delete one. The lists show
them (components/ui.html `saved_views`)."""

from __future__ import annotations

from litestar import Request, Response, post
from litestar.params import FromPath

from crm.core.errors import DomainError, NotFound
from crm.core.guards import current_actor
from crm.core.web import form_data, redirect
from crm.identity import views

ANY_STAFF = {"any_staff": True}  # one's own shortcuts; the list applies its own permission and scope


@post("/account/views", name="staff.views.save", opt=ANY_STAFF)
async def save_view(request: Request) -> Response:
    form = await form_data(request)
    key = form.get("list", "")
    if key not in views.LISTS:
        raise NotFound("List")
    back = views.LISTS[key]
    try:
        await views.save_view(current_actor(request), key, form.get("view_name", ""), form.get("query", ""))
    except DomainError as exc:
        message = "; ".join(getattr(exc, "field_errors", {}).values()) or exc.message
        query = form.get("query", "")
        return redirect(request, f"{back}?{query}" if query else back, flash=message, kind="error")
    name = " ".join(form.get("view_name", "").split())
    return redirect(request, f"{back}?{form.get('query', '')}", flash=f"Saved the view “{name}”.")


@post("/account/views/{view_id:int}/delete", name="staff.views.delete", opt=ANY_STAFF)
async def delete_view(request: Request, view_id: FromPath[int]) -> Response:
    key = await views.delete_view(current_actor(request), view_id)
    return redirect(request, views.LISTS[key], flash="View deleted.")


handlers = [save_view, delete_view]
