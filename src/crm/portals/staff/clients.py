"""Client list and profile, with masked personal data and reveal-with-reason."""

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery

from crm.clients import service
from crm.core.errors import ValidationFailed
from crm.core.guards import current_actor, requires
from crm.core.permissions import Permission
from crm.core.web import form_data, render
from crm.portals.staff.navigation import STAFF_NAV


@get("/clients", name="staff.clients.list", guards=[requires(Permission.CLIENTS_CLIENT_VIEW)])
async def list_clients(request: Request, q: FromQuery[str] = "") -> Response:
    rows = await service.list_clients(current_actor(request), search=q.strip()[:100])
    return render(request, "staff/clients/list.html", {"clients": rows, "q": q}, fragment="results")


@get("/clients/{client_id:int}", name="staff.clients.detail", guards=[requires(Permission.CLIENTS_CLIENT_VIEW)])
async def client_detail(request: Request, client_id: FromPath[int]) -> Response:
    client = await service.get_client(current_actor(request), client_id)
    return render(request, "staff/clients/detail.html", {"client": client})


@post("/clients/{client_id:int}/reveal", name="staff.clients.reveal", guards=[requires(Permission.CLIENTS_PII_REVEAL)])
async def reveal(request: Request, client_id: FromPath[int]) -> Response:
    """Reveal one field; answers with the field's row (htmx) or the whole profile."""
    actor = current_actor(request)
    form = await form_data(request)
    field = form.get("field", "")
    try:
        item = await service.reveal_client_field(actor, client_id, field, form.get("reason", ""), request.app.state.settings)
        error = None
    except ValidationFailed as exc:
        client = await service.get_client(actor, client_id)
        item = client["pii"].get(field) or {"label": field, "masked": True, "value": "", "empty": False}
        error = exc.field_errors.get("reason") or exc.message
    client = await service.get_client(actor, client_id)
    return render(request, "staff/clients/detail.html",
                  {"client": client, "field": field, "item": item, "error": error},
                  fragment="pii_field", status=422 if error else 200)


handlers = [list_clients, client_detail, reveal]

STAFF_NAV.add("Work", "Clients", "/clients", Permission.CLIENTS_CLIENT_VIEW, order=50)
