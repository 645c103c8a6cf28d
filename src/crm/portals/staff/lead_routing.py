"""Routing and scoring rules: versions per entity, the draft editor (rows of conditions → pool, overrides,
fallback, SLA bands; rows of field tests → points), submission for approval, the single-lead preview and the
replay of past leads against the draft."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import ServerSentEvent

from crm.clients import brands
from crm.core.errors import DomainError, ValidationFailed
from crm.core.guards import current_actor, requires
from crm.core.inputs import parse_int
from crm.core.org.entities import active_entity_names
from crm.core.permissions import Permission
from crm.core.web import NO_REFUSAL, Refusal, form_data, redirect, render, render_block, shows_again
from crm.leads import entity_rules, replay, rules, rulesets, service
from crm.portals.staff.live import job_progress_stream
from crm.portals.staff.navigation import STAFF_NAV
from crm.portals.staff.rule_forms import doc_from_form, routing_form, scoring_form

MANAGE = [requires(Permission.LEADS_ROUTING_MANAGE)]


def _entities(request: Request) -> list[tuple[int, str]]:
    actor = current_actor(request)
    return [
        (e, n)
        for e, n in request.scope["state"]["entity_names"].items()
        if actor.can(Permission.LEADS_ROUTING_MANAGE, e)
    ]


def _entity(request: Request, raw) -> int:
    entities = [e for e, _ in _entities(request)]
    entity_id = parse_int(raw)
    if entity_id in entities:
        return entity_id
    if raw not in (None, ""):
        raise ValidationFailed(
            "Choose an entity you manage", field_errors={"entity": "Choose an entity you manage."}
        )
    if not entities:
        raise ValidationFailed("You manage routing in no entity")
    return entities[0]


@get("/leads/routing", name="staff.routing.index", guards=MANAGE)
async def index(request: Request, entity: FromQuery[str] = "") -> Response:
    entity_id = _entity(request, entity)
    return render(
        request,
        "staff/leads/routing.html",
        {
            "entity_id": entity_id,
            "entities": _entities(request),
            "versions": {kind: await rulesets.versions(kind, entity_id) for kind in rulesets.KINDS},
            "pools": {p["id"]: p["name"] for p in await rulesets.pools_of(entity_id)},
            "replays": await replay.recent(entity_id),
            "kinds": rulesets.KINDS,
        },
    )


async def _editor(request: Request, refusal: Refusal = NO_REFUSAL, *, kind: str, entity_id: int) -> Response:
    """The draft editor; after a refused save, the rows as typed with their errors."""
    if kind not in rulesets.KINDS:
        raise ValidationFailed("Unknown kind of rules")
    entity_id = _entity(request, entity_id)
    doc = await doc_from_form(request, kind, refusal.form) if refusal.form else None
    errors, status = refusal.errors, refusal.status
    versions = await rulesets.versions(kind, entity_id)
    draft = next((v for v in versions if v["status"] in ("draft", "pending")), None)
    published = next((v for v in versions if v["status"] == "published"), None)
    if doc is None:
        doc = (draft or published or {"rules": {}})["rules"] or {}
    form = routing_form(doc) if kind == "routing" else scoring_form(doc)
    return render(
        request,
        "staff/leads/rules_edit.html",
        {
            "kind": kind,
            "kind_label": rulesets.KINDS[kind],
            "entity_id": entity_id,
            "entity_name": dict(_entities(request)).get(entity_id, entity_id),
            "form": form,
            "errors": errors,
            "draft": draft,
            "published": published,
            "pools": await rulesets.pools_of(entity_id),
            "regions": list(rules.REGIONS),
            "fields": rules.SCORING_FIELDS,
            "ops": rules.OPS,
        },
        status=status,
    )


@get("/leads/routing/{kind:str}/{entity_id:int}", name="staff.routing.edit", guards=MANAGE)
async def edit(request: Request, kind: FromPath[str], entity_id: FromPath[int]) -> Response:
    return await _editor(request, kind=kind, entity_id=entity_id)


@post("/leads/routing/{kind:str}/{entity_id:int}", name="staff.routing.save", guards=MANAGE)
@shows_again(_editor)
async def save(request: Request, kind: FromPath[str], entity_id: FromPath[int]) -> Response:
    if kind not in rulesets.KINDS:
        raise ValidationFailed("Unknown kind of rules")
    entity_id = _entity(request, entity_id)
    actor = current_actor(request)
    form = await form_data(request)
    draft = await rulesets.save_draft(
        actor, kind, entity_id, await doc_from_form(request, kind, form), form.get("note", "")
    )
    if form.get("action") == "submit":
        await rulesets.submit(actor, draft["id"], form.get("reason", ""))
        return redirect(
            request,
            f"/leads/routing?entity={entity_id}",
            flash=f"Version {draft['version']} sent for approval; a colleague must approve it.",
        )
    return redirect(
        request, f"/leads/routing/{kind}/{entity_id}", flash=f"Draft version {draft['version']} saved."
    )


async def _preview_page(
    request: Request, refusal: Refusal = NO_REFUSAL, *, result: dict | None = None
) -> Response:
    form = refusal.form or {"entity": request.query_params.get("entity", "")}
    return render(
        request,
        "staff/leads/preview.html",
        {"entities": _entities(request), "form": form, "errors": refusal.errors, "result": result},
        status=refusal.status,
        fragment="result" if result else None,
    )


@get("/leads/routing/preview", name="staff.routing.preview_form", guards=MANAGE)
async def preview_form(request: Request) -> Response:
    return await _preview_page(request)


@post("/leads/routing/preview", name="staff.routing.preview", guards=MANAGE)
@shows_again(_preview_page)
async def preview(request: Request) -> Response:
    form = await form_data(request)
    result = await service.preview(
        current_actor(request),
        _entity(request, form.get("entity")),
        form,
        use_drafts=form.get("use") == "draft",
    )
    return await _preview_page(request, Refusal(form=form), result=result)


@post("/leads/routing/replays", name="staff.routing.replay", guards=MANAGE)
async def start_replay(request: Request) -> Response:
    form = await form_data(request)
    try:
        entity_id = _entity(request, form.get("entity"))
        replay_id = await replay.start(
            current_actor(request),
            entity_id,
            days=parse_int(form.get("days")) or 30,
            use_drafts=form.get("use", "draft") == "draft",
        )
    except DomainError as exc:  # the form sits on the routing index: back there, with the reason
        return redirect(
            request, f"/leads/routing?entity={form.get('entity', '')}", flash=exc.message, kind="error"
        )
    return redirect(request, f"/leads/routing/replays/{replay_id}")


@get("/leads/routing/replays/{replay_id:int}", name="staff.routing.replay_page", guards=MANAGE)
async def replay_page(request: Request, replay_id: FromPath[int]) -> Response:
    run = await replay.get(current_actor(request), replay_id)
    return render(request, "staff/leads/replay.html", {"run": run}, fragment="progress")


@get(
    "/leads/routing/replays/{replay_id:int}/live",
    name="staff.routing.replay_live",
    guards=MANAGE,
    opt={"stream": True},
)
async def replay_live(request: Request, replay_id: FromPath[int]) -> ServerSentEvent:
    actor = current_actor(request)
    run = await replay.get(actor, replay_id)

    async def progress() -> str:
        return render_block(
            request, "staff/leads/replay.html", "progress", {"run": await replay.get(actor, replay_id)}
        )

    return job_progress_stream(request, run["job_id"], progress)


def _entity_rule_rows(form: dict) -> list[dict]:
    count = parse_int(form.get("row_count")) or 0
    return [
        {
            "position": form.get(f"e{i}_position", ""),
            "brand": form.get(f"e{i}_brand", ""),
            "countries": form.get(f"e{i}_countries", ""),
            "entity_id": form.get(f"e{i}_entity", ""),
        }
        for i in range(count)
        if form.get(f"e{i}_entity") and not form.get(f"e{i}_delete")
    ]


async def _entity_rules_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    current = await entity_rules.entity_rules()
    rows = _entity_rule_rows(refusal.form) if refusal.form else None
    errors, status = refusal.errors, refusal.status
    if rows is None:
        rows = [
            {
                "position": r["position"],
                "brand": r["brand"],
                "countries": ", ".join(r["countries"]),
                "entity_id": r["entity_id"],
            }
            for r in current
        ]
    rows = rows + [{"position": "", "brand": "", "countries": "", "entity_id": ""}] * 3
    return render(
        request,
        "staff/leads/entity_rules.html",
        {
            "current": current,
            "rows": rows,
            "errors": errors,
            "entities": await active_entity_names(),
            "brands": [(b["code"], b["name"]) for b in await brands.brands()],
        },
        status=status,
    )


@get("/leads/routing/entities", name="staff.routing.entities", guards=MANAGE)
async def entity_rules_page(request: Request) -> Response:
    return await _entity_rules_page(request)


@post(
    "/leads/routing/entities", name="staff.routing.entities_propose", guards=MANAGE, opt={"group_level": True}
)
@shows_again(_entity_rules_page)
async def propose_entity_rules(request: Request) -> Response:
    form = await form_data(request)
    await entity_rules.propose_entity_rules(
        current_actor(request), _entity_rule_rows(form), form.get("reason", "")
    )
    return redirect(
        request,
        "/leads/routing/entities",
        flash="Sent for approval; a colleague with group-wide rights decides.",
    )


handlers = [
    entity_rules_page,
    propose_entity_rules,
    index,
    edit,
    save,
    preview_form,
    preview,
    start_replay,
    replay_page,
    replay_live,
]

STAFF_NAV.add("Sales desk", "Routing & scoring", "/leads/routing", Permission.LEADS_ROUTING_MANAGE, order=40)
