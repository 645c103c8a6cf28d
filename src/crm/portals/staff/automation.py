"""The automation-run log and the dead-letter view."""

from litestar import Request, Response, get, post
from litestar.params import FromPath

from crm.core.errors import DomainError
from crm.core.events import admin
from crm.core.guards import current_actor, requires
from crm.core.permissions import Permission
from crm.core.web import form_data, redirect, render


@get("/admin/automation", name="staff.automation.runs", guards=[requires(Permission.SYSTEM_AUTOMATION_VIEW)])
async def runs(request: Request) -> Response:
    f = admin.RunFilter.from_params(dict(request.query_params))
    rows, next_id = await admin.search_runs(current_actor(request), f)
    return render(request, "staff/automation/runs.html", {"runs": rows, "next_id": next_id, "f": f}, fragment="results")


@get("/admin/dead-letters", name="staff.automation.dead", guards=[requires(Permission.SYSTEM_JOBS_MANAGE)])
async def dead(request: Request) -> Response:
    rows = await admin.dead_letters(current_actor(request))
    return render(request, "staff/automation/dead.html", {"letters": rows, "error": None})


@post("/admin/dead-letters/{delivery_id:int}", name="staff.automation.decide", guards=[requires(Permission.SYSTEM_JOBS_MANAGE)])
async def decide(request: Request, delivery_id: FromPath[int]) -> Response:
    actor = current_actor(request)
    form = await form_data(request)
    try:
        if form.get("decision") == "retry":
            await admin.retry_dead_letter(actor, delivery_id, form.get("reason", ""))
            message = "Queued again."
        else:
            await admin.discard_dead_letter(actor, delivery_id, form.get("reason", ""))
            message = "Discarded."
    except DomainError as exc:
        rows = await admin.dead_letters(actor)
        return render(request, "staff/automation/dead.html", {"letters": rows, "error": exc.message}, status=exc.status_code)
    return redirect(request, "/admin/dead-letters", flash=message)


handlers = [runs, dead, decide]
