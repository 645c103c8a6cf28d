"""Pending approvals: the checker's side of maker-checker."""

from litestar import Request, Response, get, post
from litestar.params import FromPath

from crm.core.approvals import service
from crm.core.errors import ValidationFailed
from crm.core.guards import current_actor
from crm.core.web import NO_REFUSAL, Refusal, form_data, redirect, render, shows_again
from crm.portals.staff.navigation import STAFF_NAV


@get("/approvals", name="staff.approvals.list", opt={"any_staff": True})
async def approvals_list(request: Request) -> Response:
    actor = current_actor(request)
    return render(request, "staff/approvals/list.html", {"requests": await service.pending_for(actor)})


async def _detail(request: Request, refusal: Refusal = NO_REFUSAL, *, request_id: int) -> Response:
    actor = current_actor(request)
    approval, decisions = await service.get_request(actor, request_id)
    context = {
        "approval": approval,
        "decisions": decisions,
        "conflict": await service.conflict_of(actor, approval),
        "error": refusal.message or None,
    }
    return render(
        request,
        "staff/approvals/detail.html",
        context,
        status=refusal.status,
    )


@get("/approvals/{request_id:int}", name="staff.approvals.detail", opt={"any_staff": True})
async def approval_detail(request: Request, request_id: FromPath[int]) -> Response:
    return await _detail(request, request_id=request_id)


@post("/approvals/{request_id:int}/decide", name="staff.approvals.decide", opt={"any_staff": True})
@shows_again(_detail)
async def decide(request: Request, request_id: FromPath[int]) -> Response:
    actor = current_actor(request)
    await service.get_request(actor, request_id)  # 404 unless the actor may see it
    form = await form_data(request)
    if form.get("decision") == "approve":
        status = await service.approve(
            actor, request_id, form.get("payload_hash", ""), form.get("reason", "")
        )
        message = (
            "Approved and carried out." if status == "approved" else "Approval recorded; more are needed."
        )
    elif form.get("decision") == "reject":
        await service.reject(actor, request_id, form.get("reason", ""))
        message = "Rejected."
    else:
        raise ValidationFailed("Choose approve or reject")
    return redirect(request, "/approvals", flash=message)


handlers = [approvals_list, approval_detail, decide]

STAFF_NAV.add("Work", "Approvals", "/approvals", None, order=60)
