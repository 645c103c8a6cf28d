"""The staff home page: the work that is the user's now (their cases and leads, what waits for their
decision), with a card only for what their roles let them see."""

from litestar import Request, Response, get

from crm.clients.service import reveal_counts
from crm.core.approvals.service import pending_for
from crm.core.cases.queries import my_case_counts
from crm.core.guards import current_actor
from crm.core.permissions import Permission
from crm.core.web import render
from crm.leads import queries as leads
from crm.portals.staff.navigation import STAFF_NAV


@get("/", name="staff.home", opt={"any_staff": True})
async def home(request: Request) -> Response:
    actor = current_actor(request)
    pending = await pending_for(actor)
    context = {
        "pending_approvals": [p for p in pending if p["maker_id"] != actor.user_id],
        "my_requests": [p for p in pending if p["maker_id"] == actor.user_id],
        "decides": actor.can(Permission.ACCESS_ASSIGNMENT_APPROVE)
        or actor.can(Permission.LEADS_ROUTING_MANAGE),
        "cases": await my_case_counts(actor) if actor.can(Permission.CASES_CASE_WORK) else None,
        "leads": await leads.counts(actor, leads.LeadFilter(view="mine"))
        if actor.can(Permission.LEADS_LEAD_WORK)
        else None,
        "reveals": await reveal_counts(actor.user_id) if actor.can(Permission.CLIENTS_PII_REVEAL) else None,
    }
    return render(request, "staff/home.html", context)


handlers = [home]

STAFF_NAV.add("Work", "Home", "/", None, order=10)
