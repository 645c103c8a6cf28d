"""A client's screening for compliance: every match explained, decided with a reason; a strong hit cleared by
two people (the second through the approvals inbox)."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath

from crm.core.guards import current_actor, requires
from crm.core.permissions import Permission
from crm.core.web import NO_REFUSAL, Refusal, form_data, redirect, render, shows_again
from crm.kyc.documents import service as documents
from crm.kyc.screening import clients, decisions, queries

VIEW = [requires(Permission.KYC_REVIEW_VIEW)]
DECIDE = [requires(Permission.KYC_REVIEW_DECIDE)]
DONE = {
    "true_match": "Recorded as a true match: the client is blocked",
    "false_match": "Recorded as a false match",
    "clearing": "A strong hit: the false match waits for a second approver",
}


async def _page(
    request: Request,
    refusal: Refusal = NO_REFUSAL,
    *,
    client_id: int | None = None,
    match_id: int | None = None,
) -> Response:
    if client_id is None:
        client_id = await queries.match_client(match_id)
    actor = current_actor(request)
    client = await queries.screening_of(actor, client_id)
    client["documents"] = await documents.client_documents(actor, client_id)
    return render(
        request,
        "staff/kyc/screening.html",
        {
            "client": client,
            "refused_match": match_id if refusal.status != 200 else None,
            "errors": refusal.errors,
            "typed": refusal.form,
            "error": refusal.message or None,
        },
        status=refusal.status,
    )


@get("/kyc/screening/{client_id:int}", name="staff.screening.client", guards=VIEW)
async def screening_page(request: Request, client_id: FromPath[int]) -> Response:
    return await _page(request, client_id=client_id)


@post("/kyc/screening/{client_id:int}/screen", name="staff.screening.screen", guards=DECIDE)
@shows_again(_page)
async def screen_now(request: Request, client_id: FromPath[int]) -> Response:
    actor = current_actor(request)
    await queries.screening_of(actor, client_id)  # in scope, or 404
    done = await clients.screen_client(actor, client_id)
    found = f"{done['raised']} new hit{'s' if done['raised'] != 1 else ''}" if done["hits"] else "no hit"
    flash = f"Screened against the current lists: {found}"
    return redirect(request, f"/kyc/screening/{client_id}", flash=flash)


@post("/kyc/matches/{match_id:int}/decide", name="staff.screening.decide", guards=DECIDE)
@shows_again(_page, field="reason")
async def decide(request: Request, match_id: FromPath[int]) -> Response:
    form = await form_data(request)
    status = await decisions.decide_match(
        current_actor(request), match_id, form.get("verdict", ""), form.get("reason", "")
    )
    client_id = await queries.match_client(match_id)
    return redirect(request, f"/kyc/screening/{client_id}#match-{match_id}", flash=DONE[status])


handlers = [screening_page, screen_now, decide]
