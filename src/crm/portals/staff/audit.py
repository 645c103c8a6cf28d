"""The audit screen (filters by name, keyset pages) and its CSV export, which is itself audited."""

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import Stream
from markupsafe import escape

from crm.clients.service import search_clients
from crm.core.audit import pickers
from crm.core.audit.diff import field_changes
from crm.core.audit.queries import AuditFilter, export_csv, search_audit
from crm.core.errors import ValidationFailed
from crm.core.guards import current_actor, requires
from crm.core.inputs import parse_int
from crm.core.labels import LABELS
from crm.core.permissions import Permission
from crm.core.search import Query, classify
from crm.core.web import render
from crm.portals.staff.navigation import STAFF_NAV, record_url

VIEW = [requires(Permission.AUDIT_RECORD_VIEW)]


async def _client_choices(actor, text: str) -> list[dict]:
    reference = pickers.reference_in(text)
    query = Query("reference", reference) if reference else classify(text)
    rows = await search_clients(actor, query)
    return [{"id": r["id"], "text": f"{r['first_name']} {r['last_name']} · {r['reference']}"} for r in rows]


async def _read_pickers(
    actor, params: dict[str, str]
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The query with what was typed in the name pickers turned into ids; the pickers' texts to show again;
    the pickers' errors."""
    texts = {name: (params.get(name) or "").strip()[:200] for name in ("actor", "client", "case")}
    errors: dict[str, str] = {}
    if texts["actor"]:
        user_id, why = await pickers.resolve_staff(actor, texts["actor"])
        params["actor_id"], errors = str(user_id or ""), {"actor": why} if why else {}
    elif (actor_id := parse_int(params.get("actor_id"))) is not None:
        texts["actor"] = await pickers.staff_label(actor_id)
    if texts["client"]:
        found = await _client_choices(actor, texts["client"])
        if len(found) == 1:
            params["client_id"] = str(found[0]["id"])
        else:
            errors["client"] = (
                f"No client “{texts['client']}” in the entities you audit."
                if not found
                else f"“{texts['client']}” matches several clients: choose one from the list."
            )
    if texts["case"]:
        params["case_id"] = pickers.reference_in(texts["case"]) or texts["case"].upper()
    return params, texts, errors


def _action_groups() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(area label, area prefix, [(tag, words)]) for the action picker, areas in alphabetical order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for tag, words in LABELS.codes("audit_action").items():
        groups.setdefault(tag.split(":", 1)[0], []).append((tag, words))
    return [
        (LABELS.text("permission_area", area), f"{area}:", sorted(items, key=lambda i: i[1]))
        for area, items in sorted(groups.items())
    ]


@get("/audit", name="staff.audit.list", guards=VIEW)
async def audit_list(request: Request) -> Response:
    actor = current_actor(request)
    params, texts, picker_errors = await _read_pickers(actor, dict(request.query_params))
    f = AuditFilter.from_params(params)
    f.errors |= picker_errors
    try:
        rows, next_seq = await search_audit(actor, f)
        errors = {}
        for row in rows:
            row["target_url"] = record_url(actor, row["target_type"], row["target_id"], row["entity_id"])
            row["actor_url"] = record_url(actor, "staff_user", row["actor_id"], row["entity_id"])
            row["changes"] = field_changes(row["before"], row["after"], row["target_type"] or "")
    except ValidationFailed as exc:
        rows, next_seq, errors = [], None, exc.field_errors
    return render(
        request,
        "staff/audit/list.html",
        {
            "rows": rows,
            "next_seq": next_seq,
            "f": f,
            "texts": texts,
            "errors": errors,
            "action_groups": (groups := _action_groups()),
            "known_actions": {prefix for _, prefix, _ in groups}
            | {tag for *_, items in groups for tag, _ in items},
            "record_types": LABELS.codes("record_type"),
            "can_export": actor.can(Permission.AUDIT_RECORD_EXPORT),
        },
        fragment="results",
        status=422 if errors else 200,
    )


@get("/audit/suggest/{kind:str}", name="staff.audit.suggest", guards=VIEW)
async def audit_suggest(request: Request, kind: FromPath[str]) -> Response:
    """<option>s for a picker's datalist, for what has been typed so far (htmx, as the person types)."""
    actor = current_actor(request)
    text = (request.query_params.get(kind) or request.query_params.get("q") or "").strip()[:100]
    if kind == "actor":
        found = await pickers.staff_suggestions(actor, text)
    elif kind == "client":
        found = await _client_choices(actor, text) if len(text) >= 2 else []
    elif kind == "case":
        found = await pickers.case_suggestions(actor, text)
    else:
        return Response("Unknown picker", status_code=404)
    html = "".join(f'<option value="{escape(item["text"])}"></option>' for item in found)
    return Response(html, media_type="text/html", headers={"Vary": "HX-Request"})


@get("/audit/export.csv", name="staff.audit.export", guards=[requires(Permission.AUDIT_RECORD_EXPORT)])
async def audit_export(request: Request) -> Response:
    actor = current_actor(request)
    params, _texts, _errors = await _read_pickers(actor, dict(request.query_params))
    text = await export_csv(actor, AuditFilter.from_params(params))
    return Stream(
        iter([text]),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-export.csv"'},
    )


handlers = [audit_list, audit_suggest, audit_export]

STAFF_NAV.add("Oversight", "Audit trail", "/audit", Permission.AUDIT_RECORD_VIEW, order=10)
