"""The webhook inbox: every event vendors sent, how it was verified and what processing did; re-run a failed
one."""

from litestar import Request, Response, get, post
from litestar.params import FromPath

from crm.core.guards import current_actor, requires
from crm.core.inbox import service as inbox
from crm.core.inbox.tables import InboxStatus
from crm.core.inputs import parse_int
from crm.core.permissions import Permission
from crm.core.web import NO_REFUSAL, Refusal, form_data, redirect, render, shows_again
from crm.portals.staff.navigation import STAFF_NAV

VIEW = [requires(Permission.SYSTEM_AUTOMATION_VIEW)]


@get("/admin/webhooks", name="staff.inbox.list", guards=VIEW)
async def events(request: Request) -> Response:
    params = request.query_params
    f = inbox.InboxFilter(
        provider=params.get("provider", "")[:40],
        status=params.get("status", "")[:20],
        endpoint=params.get("endpoint", "")[:120],
        before_id=parse_int(params.get("before_id")),
    )
    rows, next_id = await inbox.search(current_actor(request), f)
    return render(
        request,
        "staff/inbox/list.html",
        {
            "events": rows,
            "next_id": next_id,
            "f": f,
            "providers": inbox.providers(),
            "statuses": list(InboxStatus),
        },
        fragment="results",
    )


async def _detail(
    request: Request, refusal: Refusal = NO_REFUSAL, *, inbox_id: int, body: bytes | None = None
) -> Response:
    event = await inbox.get(current_actor(request), inbox_id)
    return render(
        request,
        "staff/inbox/detail.html",
        {"event": event, "body": body, "refusal": refusal},
        status=refusal.status,
    )


@get("/admin/webhooks/{inbox_id:int}", name="staff.inbox.detail", guards=VIEW)
async def detail(request: Request, inbox_id: FromPath[int]) -> Response:
    return await _detail(request, inbox_id=inbox_id)


@post(
    "/admin/webhooks/{inbox_id:int}/rerun",
    name="staff.inbox.rerun",
    guards=[requires(Permission.SYSTEM_JOBS_MANAGE)],
)
@shows_again(_detail, field="reason")
async def rerun(request: Request, inbox_id: FromPath[int]) -> Response:
    form = await form_data(request)
    await inbox.rerun(current_actor(request), inbox_id, form.get("reason", ""))
    return redirect(request, f"/admin/webhooks/{inbox_id}", flash="Queued to run again.")


@post(
    "/admin/webhooks/{inbox_id:int}/reveal",
    name="staff.inbox.reveal",
    guards=[requires(Permission.CLIENTS_PII_REVEAL)],
)
@shows_again(_detail, field="reason")
async def reveal(request: Request, inbox_id: FromPath[int]) -> Response:
    form = await form_data(request)
    body = await inbox.reveal_body(current_actor(request), inbox_id, form.get("reason", ""))
    return await _detail(request, inbox_id=inbox_id, body=body)


handlers = [events, detail, rerun, reveal]

STAFF_NAV.add("Admin", "Webhook inbox", "/admin/webhooks", Permission.SYSTEM_AUTOMATION_VIEW, order=55)
