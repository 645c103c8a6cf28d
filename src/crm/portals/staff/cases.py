"""Cases: my cases, team queues with take-next, all cases with filters, a case's page, opening a case."""

from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import ServerSentEvent

from crm.core.cases import attachments, lists, queries, service, work
from crm.core.cases.kinds import case_kinds
from crm.core.cases.live import CHANNEL
from crm.core.cases.tables import PRIORITIES, RESOLUTIONS, CaseStatus
from crm.core.errors import DomainError, ValidationFailed
from crm.core.files.service import MAX_BYTES
from crm.core.guards import current_actor, requires
from crm.core.inputs import parse_int
from crm.core.org.entities import teams_visible_to
from crm.core.permissions import Permission
from crm.core.web import (
    NO_REFUSAL,
    Refusal,
    attachment_disposition,
    form_data,
    form_list,
    redirect,
    render,
    render_block,
    shows_again,
)
from crm.identity import views
from crm.portals.staff.live import live_stream
from crm.portals.staff.navigation import STAFF_NAV, subject_url

VIEW = [requires(Permission.CASES_CASE_VIEW)]
WORK = [requires(Permission.CASES_CASE_WORK)]
CHOICES = {"priorities": PRIORITIES, "resolutions": RESOLUTIONS, "statuses": list(CaseStatus)}


@get("/cases", name="staff.cases.mine", guards=VIEW)
async def my_cases(request: Request) -> Response:
    actor = current_actor(request)
    rows = await queries.list_cases(actor, queries.CaseFilter(assignee_id=actor.user_id))
    return render(
        request,
        "staff/cases/mine.html",
        {"cases": rows, "queues": await queries.queues_for(actor), **CHOICES},
        fragment="results",
    )


async def _live_view(request: Request, view: str, queue_id: int | None) -> tuple[str, str, dict, int | None]:
    """The template, block, context and queue of a live list: "mine", "queue" (404 for a queue out of scope)
    or "all" (with the page's filter, taken from the stream's query string)."""
    actor = current_actor(request)
    if view == "queue" and queue_id is not None:
        q = await queries.queue(actor, queue_id)
        rows = await queries.list_cases(actor, queries.CaseFilter(queue_id=queue_id))
        return "staff/cases/queue.html", "results", {"queue": q, "cases": rows, **CHOICES}, queue_id
    if view == "all":
        return "staff/cases/list.html", "live_rows", await _all_context(request), None
    rows = await queries.list_cases(actor, queries.CaseFilter(assignee_id=actor.user_id))
    return (
        "staff/cases/mine.html",
        "results",
        {"cases": rows, "queues": await queries.queues_for(actor), **CHOICES},
        None,
    )


async def _bulk_assignees(actor) -> list[dict]:
    """Who the list's cases can be handed to: staff who may work cases in the actor's entities."""
    seen: dict[int, dict] = {}
    for entity_id in sorted(actor.entities_with(Permission.CASES_CASE_WORK)):
        for person in await queries.workers_in(entity_id):
            seen.setdefault(person["id"], person)
    return sorted(seen.values(), key=lambda p: p["full_name"])


async def _all_context(request: Request) -> dict:
    actor = current_actor(request)
    params = {k: v for k, v in request.query_params.items() if k != "view"}
    f = queries.CaseFilter.from_params(params)
    rows, cursor = await queries.list_page(actor, f)
    # the stream re-renders this very page (its cursor included) as cases change
    live_query = urlencode({"view": "all", **{k: v for k, v in params.items() if v or k == "status"}})
    sort = queries.sort_of(f, "/cases/all", params)
    return {
        "saved_views": await views.views_of(actor, "cases.all"),
        "view_query": urlencode([(k, v) for k, v in params.items() if v and k != "after"]),
        "cases": rows,
        "sort": sort,
        "next_url": sort.page_url(cursor) if cursor else None,
        "counts": await queries.count_cases(actor, f),
        "f": f,
        "kinds": case_kinds(),
        "queues": await queries.queues_for(actor),
        "live_query": live_query,
        "assignees": await _bulk_assignees(actor) if actor.entities_with(Permission.CASES_CASE_WORK) else [],
        "bulk_error": "",
        **CHOICES,
    }


@get("/cases/all/export.csv", name="staff.cases.export", guards=VIEW)
async def export_list(request: Request) -> Response:
    """The filtered list as CSV, in its order; audited."""
    params = {k: v for k, v in request.query_params.items() if k not in ("view", "after")}
    text, _rows = await lists.export_cases(current_actor(request), queries.CaseFilter.from_params(params))
    return Response(
        text, media_type="text/csv", headers={"Content-Disposition": attachment_disposition("cases.csv")}
    )


@post("/cases/bulk-assign", name="staff.cases.bulk_assign", guards=WORK)
async def bulk_assign(request: Request) -> Response:
    """Hand the ticked cases to one person (or back to their queues), with a reason; each audited."""
    form = await form_data(request)
    back = form.get("next", "") if form.get("next", "").startswith("/cases/all") else "/cases/all"
    try:
        count = await lists.assign_many(
            current_actor(request),
            await form_list(request, "cases"),
            parse_int(form.get("assignee")),
            form.get("reason", ""),
        )
    except DomainError as exc:  # the list again, with what to fix, nothing assigned
        problem = "; ".join(getattr(exc, "field_errors", {}).values()) or str(exc)
        context = await _all_context(request) | {"bulk_error": f"Nothing was assigned: {problem}"}
        return render(request, "staff/cases/list.html", context, status=exc.status_code)
    return redirect(request, back, flash=f"{count} case{'s' if count != 1 else ''} assigned.")


@get("/cases/live", name="staff.cases.live", guards=VIEW, opt={"stream": True})
async def live(
    request: Request, view: FromQuery[str] = "mine", queue_id: FromQuery[int | None] = None
) -> ServerSentEvent:
    """Server-sent events for a live list: the whole list first (a reconnection resynchronises), then again
    after each case change in the actor's entities; ends when the session does."""
    actor = current_actor(request)
    template, block, _, queue = await _live_view(request, view, queue_id)
    visible = set(actor.entities_with(Permission.CASES_CASE_VIEW))

    async def rows() -> str:
        _, _, context, _ = await _live_view(request, view, queue_id)
        return render_block(request, template, block, context)

    def concerns(notice: dict) -> bool:
        return notice.get("entity_id") in visible and (queue is None or notice.get("queue_id") == queue)

    return live_stream(request, CHANNEL, rows, concerns)


@get("/cases/all", name="staff.cases.all", guards=VIEW)
async def all_cases(request: Request) -> Response:
    return render(request, "staff/cases/list.html", await _all_context(request), fragment="results")


@get("/cases/queues/{queue_id:int}", name="staff.cases.queue", guards=VIEW)
async def queue_page(request: Request, queue_id: FromPath[int]) -> Response:
    actor = current_actor(request)
    q = await queries.queue(actor, queue_id)
    rows = await queries.list_cases(actor, queries.CaseFilter(queue_id=queue_id))
    return render(
        request, "staff/cases/queue.html", {"queue": q, "cases": rows, **CHOICES}, fragment="results"
    )


@post("/cases/queues/{queue_id:int}/take", name="staff.cases.take_next", guards=WORK)
async def take_next(request: Request, queue_id: FromPath[int]) -> Response:
    actor = current_actor(request)
    await queries.queue(actor, queue_id)
    case = await service.take_next(actor, queue_id)
    if case is None:
        return redirect(
            request, f"/cases/queues/{queue_id}", flash="Nothing is waiting in this queue.", kind="warning"
        )
    return redirect(request, f"/cases/{case['reference']}", flash=f"{case['reference']} is yours.")


async def _new_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    actor = current_actor(request)
    teams = [t for t in await teams_visible_to(actor) if actor.can(Permission.CASES_CASE_WORK, t["entity"])]
    return render(
        request,
        "staff/cases/new.html",
        {
            "form": refusal.form,
            "errors": refusal.errors,
            "kinds": case_kinds(),
            "teams": teams,
            "entities": [
                (e, n)
                for e, n in request.scope["state"]["entity_names"].items()
                if actor.can(Permission.CASES_CASE_WORK, e)
            ],
            **CHOICES,
        },
        status=refusal.status,
    )


@get("/cases/new", name="staff.cases.new", guards=WORK)
async def new_case(request: Request) -> Response:
    return await _new_page(request)


@post("/cases/new", name="staff.cases.create", guards=WORK)
@shows_again(_new_page, field="title")
async def create_case(request: Request) -> Response:
    form = await form_data(request)
    case = await service.create_case(
        current_actor(request),
        kind=form.get("kind", ""),
        entity_id=parse_int(form.get("entity")),
        title=form.get("title", ""),
        priority=parse_int(form.get("priority")),
        queue_id=parse_int(form.get("queue")),
        body=form.get("body", ""),
    )
    return redirect(request, f"/cases/{case['reference']}", flash=f"{case['reference']} opened.")


async def _detail(
    request: Request, refusal: Refusal = NO_REFUSAL, *, reference: str, **_: object
) -> Response:
    actor = current_actor(request)
    case = await queries.case_detail(actor, reference)
    case["subjects"] = [s | {"url": await subject_url(actor, s, case["entity_id"])} for s in case["subjects"]]
    workers = await queries.workers_in(case["entity_id"]) if case["can_work"] else []
    return render(
        request,
        "staff/cases/detail.html",
        {"case": case, "errors": refusal.errors, "workers": workers, **CHOICES},
        status=refusal.status,
    )


@get("/cases/{reference:str}", name="staff.cases.detail", guards=VIEW)
async def case_page(request: Request, reference: FromPath[str]) -> Response:
    return await _detail(request, reference=reference)


def _saved(request: Request, reference: str, flash: str = "Saved.") -> Response:
    return redirect(request, f"/cases/{reference}", flash=flash)


@post("/cases/{reference:str}/notes", name="staff.cases.note", guards=WORK)
@shows_again(_detail, field="body")
async def add_note(request: Request, reference: FromPath[str]) -> Response:
    await work.add_note(current_actor(request), reference, (await form_data(request)).get("body", ""))
    return _saved(request, reference)


@post("/cases/{reference:str}/assign", name="staff.cases.assign", guards=WORK)
@shows_again(_detail, field="assignee")
async def assign(request: Request, reference: FromPath[str]) -> Response:
    form = await form_data(request)
    await service.assign(
        current_actor(request), reference, parse_int(form.get("assignee")), form.get("reason", "")
    )
    return _saved(request, reference)


@post("/cases/{reference:str}/take", name="staff.cases.take_this", guards=WORK)
@shows_again(_detail, field="action")
async def take_this(request: Request, reference: FromPath[str]) -> Response:
    actor = current_actor(request)
    await service.assign(actor, reference, actor.user_id)
    return _saved(request, reference)


@post("/cases/{reference:str}/status", name="staff.cases.status", guards=WORK)
@shows_again(_detail, field="status")
async def set_status(request: Request, reference: FromPath[str]) -> Response:
    form = await form_data(request)
    await work.set_status(
        current_actor(request),
        reference,
        form.get("status", ""),
        resolution=form.get("resolution", ""),
        reason=form.get("reason", ""),
    )
    return _saved(request, reference)


@post("/cases/{reference:str}/attachments", name="staff.cases.attach", guards=WORK)
@shows_again(_detail, field="file")
async def attach(request: Request, reference: FromPath[str]) -> Response:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationFailed("Choose a file", field_errors={"file": "Choose a file."})
    content = await upload.read(MAX_BYTES + 1)
    note = form.get("note")
    await attachments.attach(
        current_actor(request),
        reference,
        upload.filename or "",
        content,
        note if isinstance(note, str) else "",
    )
    return _saved(request, reference, "Attached.")


@get("/cases/{reference:str}/attachments/{file_id:int}", name="staff.cases.attachment", guards=VIEW)
async def download(request: Request, reference: FromPath[str], file_id: FromPath[int]) -> Response:
    stored = await attachments.attachment(current_actor(request), reference, file_id)
    return Response(
        stored["content"],
        media_type=stored["content_type"],
        headers={
            "Content-Disposition": attachment_disposition(stored["filename"]),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


handlers = [
    export_list,
    bulk_assign,
    my_cases,
    live,
    all_cases,
    queue_page,
    take_next,
    new_case,
    create_case,
    case_page,
    add_note,
    assign,
    take_this,
    set_status,
    attach,
    download,
]

STAFF_NAV.add("Work", "My cases", "/cases", Permission.CASES_CASE_VIEW, order=30)
STAFF_NAV.add("Work", "All cases", "/cases/all", Permission.CASES_CASE_VIEW, order=40)
