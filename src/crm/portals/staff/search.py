"""The top bar's search: leads and clients by reference, exact e-mail or phone, or name, each list scoped
like its own screen. Contact data is matched, never shown."""

from litestar import Request, Response, get
from litestar.params import FromQuery

from crm.clients.service import search_clients
from crm.core.guards import current_actor
from crm.core.search import classify
from crm.core.web import render
from crm.leads.search import search_leads


@get("/search", name="staff.search", opt={"any_staff": True})
async def search(request: Request, q: FromQuery[str] = "") -> Response:
    actor = current_actor(request)
    query = classify(q)
    leads = await search_leads(actor, query)
    clients = await search_clients(actor, query)
    return render(
        request,
        "staff/search.html",
        {"q": q, "query": query, "leads": leads, "clients": clients},
        fragment="results",
    )


handlers = [search]
