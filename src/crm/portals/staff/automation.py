"""The automation-run log and the dead-letter view."""

from litestar import Request, Response, get, post
from litestar.params import FromPath

from crm.core.events import admin
from crm.core.guards import current_actor, requires
from crm.core.permissions import Permission
from crm.core.web import NO_REFUSAL, Refusal, form_data, redirect, render, shows_again
from crm.portals.staff.navigation import STAFF_NAV


@get("/admin/automation", name="staff.automation.runs", guards=[requires(Permission.SYSTEM_AUTOMATION_VIEW)])
async def runs(request: Request) -> Response:
    f = admin.RunFilter.from_params(dict(request.query_params))
    rows, next_id = await admin.search_runs(current_actor(request), f)
    return render(
        request, "staff/automation/runs.html", {"runs": rows, "next_id": next_id, "f": f}, fragment="results"
    )


@get("/admin/dead-letters", name="staff.automation.dead", guards=[requires(Permission.SYSTEM_JOBS_MANAGE)])
async def dead(request: Request) -> Response:
    return await _dead_page(request)


async def _dead_page(request: Request, refusal: Refusal = NO_REFUSAL, **_: object) -> Response:
    actor = current_actor(request)
    return render(
        request,
        "staff/automation/dead.html",
        {
            "letters": await admin.dead_letters(actor),
            "jobs": await admin.dead_jobs(actor),
            "error": refusal.message or None,
        },
        status=refusal.status,
    )


@post(
    "/admin/dead-letters/{delivery_id:int}",
    name="staff.automation.decide",
    guards=[requires(Permission.SYSTEM_JOBS_MANAGE)],
)
@shows_again(_dead_page)
async def decide(request: Request, delivery_id: FromPath[int]) -> Response:
    """Retry or discard a dead event delivery (the decision is the form's button)."""
    actor = current_actor(request)
    form = await form_data(request)
    if form.get("decision") == "retry":
        await admin.retry_dead_letter(actor, delivery_id, form.get("reason", ""))
        return redirect(request, "/admin/dead-letters", flash="Queued again.")
    await admin.discard_dead_letter(actor, delivery_id, form.get("reason", ""))
    return redirect(request, "/admin/dead-letters", flash="Discarded.")


@post(
    "/admin/dead-jobs/{dead_id:int}",
    name="staff.automation.decide_job",
    guards=[requires(Permission.SYSTEM_JOBS_MANAGE)],
)
@shows_again(_dead_page)
async def decide_job(request: Request, dead_id: FromPath[int]) -> Response:
    form = await form_data(request)
    decision = form.get("decision", "")
    await admin.decide_dead_job(current_actor(request), dead_id, form.get("reason", ""), decision)
    return redirect(
        request, "/admin/dead-letters", flash="Queued again." if decision == "retry" else "Discarded."
    )


handlers = [runs, dead, decide, decide_job]

STAFF_NAV.add("Admin", "Automation log", "/admin/automation", Permission.SYSTEM_AUTOMATION_VIEW, order=50)
STAFF_NAV.add("Admin", "Dead letters", "/admin/dead-letters", Permission.SYSTEM_JOBS_MANAGE, order=60)
