"""Client list and profile, with masked personal data and reveal-with-reason."""

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery

from crm.clients import service
from crm.core.guards import current_actor, requires
from crm.core.permissions import Permission
from crm.core.web import NO_REFUSAL, Refusal, form_data, render, shows_again
from crm.portals.staff.navigation import STAFF_NAV


@get("/clients", name="staff.clients.list", guards=[requires(Permission.CLIENTS_CLIENT_VIEW)])
async def list_clients(request: Request, q: FromQuery[str] = "") -> Response:
    rows = await service.list_clients(current_actor(request), search=q.strip()[:100])
    return render(request, "staff/clients/list.html", {"clients": rows, "q": q}, fragment="results")


async def _profile(
    request: Request, refusal: Refusal = NO_REFUSAL, *, client_id: int, item: dict | None = None
) -> Response:
    """The profile; a reveal (htmx) gets the field's row back: the value, or the reason it was refused."""
    client = await service.get_client(current_actor(request), client_id)
    field = refusal.form.get("field", "")
    if refusal.status != 200 and field:
        item = client["pii"].get(field) or {"label": field, "masked": True, "value": "", "empty": False}
    return render(
        request,
        "staff/clients/detail.html",
        {
            "client": client,
            "field": field,
            "item": item,
            "error": refusal.errors.get("reason") or refusal.message or None,
        },
        fragment="pii_field",
        status=refusal.status,
    )


@get(
    "/clients/{client_id:int}", name="staff.clients.detail", guards=[requires(Permission.CLIENTS_CLIENT_VIEW)]
)
async def client_detail(request: Request, client_id: FromPath[int]) -> Response:
    return await _profile(request, client_id=client_id)


@post(
    "/clients/{client_id:int}/reveal",
    name="staff.clients.reveal",
    guards=[requires(Permission.CLIENTS_PII_REVEAL)],
)
@shows_again(_profile, field="reason")
async def reveal(request: Request, client_id: FromPath[int]) -> Response:
    """Reveal one field for a few minutes, with a reason (audited)."""
    form = await form_data(request)
    item = await service.reveal_client_field(
        current_actor(request),
        client_id,
        form.get("field", ""),
        form.get("reason", ""),
        request.app.state.settings,
    )
    return await _profile(request, Refusal(form=form), client_id=client_id, item=item)


handlers = [list_clients, client_detail, reveal]

STAFF_NAV.add("Work", "Clients", "/clients", Permission.CLIENTS_CLIENT_VIEW, order=50)
