"""The staff home page: who you are, where you may act, what waits for you."""

from litestar import Request, Response, get

from crm.clients.service import reveal_counts
from crm.core.approvals.service import pending_for
from crm.core.guards import current_actor
from crm.core.web import render
from crm.portals.staff.navigation import STAFF_NAV


@get("/", name="staff.home", opt={"any_staff": True})
async def home(request: Request) -> Response:
    actor = current_actor(request)
    pending = await pending_for(actor)
    return render(
        request,
        "staff/home.html",
        {
            "pending_approvals": [p for p in pending if p["maker_id"] != actor.user_id],
            "my_requests": [p for p in pending if p["maker_id"] == actor.user_id],
            "reveals": await reveal_counts(actor.user_id),
        },
    )


handlers = [home]

STAFF_NAV.add("Work", "Home", "/", None, order=10)
