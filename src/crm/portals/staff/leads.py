"""A lead's page with its timeline, pipeline, calls, routing explanations, duplicates and merge; presence;
manual entry; the desk dashboard. The lists are in lead_lists.py."""

from __future__ import annotations

import datetime as dt

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery

from crm.clients import consent
from crm.core.errors import NotFound, ValidationFailed
from crm.core.guards import current_actor, requires
from crm.core.inputs import parse_int
from crm.core.permissions import Permission
from crm.core.web import (
    NO_REFUSAL,
    Refusal,
    form_data,
    redirect,
    render,
    shows_again,
)
from crm.leads import mail as lead_mail
from crm.leads import queries, service
from crm.leads.tables import LOST_REASONS, LeadStatus
from crm.portals.staff.navigation import STAFF_NAV

VIEW = [requires(Permission.LEADS_LEAD_VIEW)]
WORK = [requires(Permission.LEADS_LEAD_WORK)]
TEAM = [requires(Permission.LEADS_TEAM_VIEW)]
CHOICES = {"statuses": list(LeadStatus), "lost_reasons": LOST_REASONS, "outcomes": service.CALL_OUTCOMES}


@post("/leads/presence", name="staff.leads.presence", guards=WORK)
async def presence(request: Request) -> Response:
    form = await form_data(request)
    await service.set_presence(current_actor(request), form.get("presence", ""))
    return redirect(
        request,
        form.get("next") if str(form.get("next", "")).startswith("/leads") else "/leads",
        flash=f"You are {form.get('presence')}.",
    )


async def _detail(
    request: Request, refusal: Refusal = NO_REFUSAL, *, reference: str, **_: object
) -> Response:
    """The lead's page; after a refused action, with its errors and the values typed."""
    actor = current_actor(request)
    lead = await queries.lead_detail(actor, reference)
    agents = await queries.agents_for(actor, lead["entity_id"]) if lead["can_manage"] else []
    return render(
        request,
        "staff/leads/detail.html",
        {
            "lead": lead,
            "consents": await consent.of_lead(lead["id"]),
            "errors": refusal.errors,
            "agents": agents,
            "pipeline": [s for s in LeadStatus if s != "lost"],
            "now": dt.datetime.now(dt.UTC),
            "form": refusal.form,
            **CHOICES,
        },
        status=refusal.status,
    )


async def _new_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    actor = current_actor(request)
    from crm.portals.public.register import COUNTRIES, LANGUAGES

    return render(
        request,
        "staff/leads/new.html",
        {
            "form": refusal.form,
            "errors": refusal.errors,
            "countries": COUNTRIES,
            "languages": LANGUAGES,
            "entities": [
                (e, n)
                for e, n in request.scope["state"]["entity_names"].items()
                if actor.can(Permission.LEADS_LEAD_WORK, e)
            ],
        },
        status=refusal.status,
    )


@get("/leads/new", name="staff.leads.new", guards=WORK)
async def new_lead(request: Request) -> Response:
    return await _new_page(request)


@post("/leads/new", name="staff.leads.create", guards=WORK)
@shows_again(_new_page, field="first_name")
async def create_lead(request: Request) -> Response:
    """A lead entered by staff (a walk-in or a phone enquiry), routed like any other."""
    actor = current_actor(request)
    form = await form_data(request)
    result = await service.intake_by_hand(
        actor, form, parse_int(form.get("entity")), ip=request.scope["state"]["meta"].ip or ""
    )
    reference = result.lead["reference"]
    if not service.may_see(actor, result.lead):
        return redirect(request, "/leads", flash=f"{reference} was routed to a colleague.")
    return redirect(request, f"/leads/{reference}", flash=f"{reference} saved and routed.")


@get("/leads/{reference:str}", name="staff.leads.detail", guards=VIEW)
async def lead_page(request: Request, reference: FromPath[str]) -> Response:
    return await _detail(request, reference=reference)


def _started_at(raw: str) -> dt.datetime:
    if not raw:
        return dt.datetime.now(dt.UTC)
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            "Bad time", field_errors={"started_at": "Use the date and time picker."}
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _done(request: Request, reference: str, flash: str = "Saved.") -> Response:
    return redirect(request, f"/leads/{reference}", flash=flash)


@post("/leads/{reference:str}/status", name="staff.leads.status", guards=WORK)
@shows_again(_detail, field="status")
async def move_status(request: Request, reference: FromPath[str]) -> Response:
    form = await form_data(request)
    await service.set_status(
        current_actor(request),
        reference,
        form.get("status", ""),
        lost_reason=form.get("lost_reason", ""),
        note=form.get("note", ""),
    )
    return _done(request, reference)


@post("/leads/{reference:str}/notes", name="staff.leads.note", guards=WORK)
@shows_again(_detail, field="body")
async def add_note(request: Request, reference: FromPath[str]) -> Response:
    form = await form_data(request)
    await service.add_note(current_actor(request), reference, form.get("body", ""))
    return _done(request, reference)


@post("/leads/{reference:str}/emails", name="staff.leads.email", guards=WORK)
@shows_again(_detail, field="subject")
async def send_email(request: Request, reference: FromPath[str]) -> Response:
    form = await form_data(request)
    await lead_mail.send_email(
        current_actor(request), reference, form.get("subject", ""), form.get("message", "")
    )
    return _done(
        request,
        reference,
        "E-mail queued: it is sent in the background and its status shows on the timeline.",
    )


@post("/leads/{reference:str}/calls", name="staff.leads.call", guards=WORK)
@shows_again(_detail, field="outcome")
async def log_call(request: Request, reference: FromPath[str]) -> Response:
    form = await form_data(request)
    duration = parse_int(form.get("duration_min") or 0)
    if duration is None or duration < 0:
        raise ValidationFailed("Bad duration", field_errors={"duration_min": "Whole minutes, 0 or more."})
    await service.log_call(
        current_actor(request),
        reference,
        outcome=form.get("outcome", ""),
        duration_s=duration * 60,
        started_at=_started_at(form.get("started_at", "")),
        note=form.get("note", ""),
        direction=form.get("direction") or "outbound",
    )
    return _done(request, reference, "Call logged.")


@post("/leads/{reference:str}/reveal", name="staff.leads.reveal", guards=WORK)
@shows_again(_detail, field="reason")
async def reveal(request: Request, reference: FromPath[str]) -> Response:
    form = await form_data(request)
    await service.reveal_contact(
        current_actor(request),
        reference,
        form.get("field", ""),
        form.get("reason", ""),
        request.app.state.settings.reveal_minutes,
    )
    return _done(request, reference, "Shown for a few minutes; this was recorded.")


@post("/leads/{reference:str}/assign", name="staff.leads.assign", guards=WORK)
@shows_again(_detail, field="agent")
async def assign(request: Request, reference: FromPath[str]) -> Response:
    form = await form_data(request)
    await service.assign_manually(
        current_actor(request), reference, parse_int(form.get("agent")), form.get("reason", "")
    )
    return _done(request, reference, "Assigned.")


@post("/leads/{reference:str}/duplicates/{duplicate_id:int}/dismiss", name="staff.leads.dismiss", guards=WORK)
@shows_again(_detail, field="action")
async def dismiss_duplicate(
    request: Request, reference: FromPath[str], duplicate_id: FromPath[int]
) -> Response:
    await service.dismiss_duplicate(current_actor(request), reference, duplicate_id)
    return _done(request, reference)


@get("/leads/{reference:str}/merge/{other:str}", name="staff.leads.merge_form", guards=TEAM)
async def merge_form(request: Request, reference: FromPath[str], other: FromPath[str]) -> Response:
    return await _merge_page(request, reference=reference, other=other)


async def _merge_page(
    request: Request, refusal: Refusal = NO_REFUSAL, *, reference: str, other: str
) -> Response:
    actor = current_actor(request)
    left, right = await queries.lead_detail(actor, reference), await queries.lead_detail(actor, other)
    if left["entity_id"] != right["entity_id"]:
        raise NotFound("Lead")  # a merge never crosses entities, so neither does the comparison
    return render(
        request,
        "staff/leads/merge.html",
        {"left": left, "right": right, "errors": refusal.errors, "fields": service.MERGE_FILL},
        status=refusal.status,
    )


@post("/leads/{reference:str}/merge/{other:str}", name="staff.leads.merge", guards=TEAM)
@shows_again(_merge_page, field="reason")
async def merge(request: Request, reference: FromPath[str], other: FromPath[str]) -> Response:
    form = await form_data(request)
    survivor, duplicate = (
        (reference, other) if form.get("survivor", reference) == reference else (other, reference)
    )
    await service.merge(current_actor(request), survivor, duplicate, form.get("reason", ""))
    return redirect(request, f"/leads/{survivor}", flash=f"{duplicate} merged into {survivor}.")


handlers = [
    presence,
    new_lead,
    create_lead,
    lead_page,
    move_status,
    add_note,
    send_email,
    log_call,
    reveal,
    assign,
    dismiss_duplicate,
    merge_form,
    merge,
]


@get("/leads/dashboard", name="staff.leads.dashboard", guards=TEAM)
async def dashboard(request: Request, days: FromQuery[int] = 30) -> Response:
    from crm.leads.dashboard import figures

    return render(request, "staff/leads/dashboard.html", {"f": await figures(current_actor(request), days)})


handlers.append(dashboard)

STAFF_NAV.add("Sales desk", "Desk dashboard", "/leads/dashboard", Permission.LEADS_TEAM_VIEW, order=30)
