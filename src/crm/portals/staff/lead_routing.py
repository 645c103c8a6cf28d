"""Routing and scoring rules: versions per entity, the draft editor (rows of conditions → pool, overrides,
fallback, SLA bands; rows of field tests → points), submission for approval, the single-lead preview and the
replay of past leads against the draft."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import ServerSentEvent

from crm.core.errors import DomainError, ValidationFailed
from crm.core.guards import current_actor, requires
from crm.core.org.entities import active_entity_names
from crm.core.permissions import Permission
from crm.core.web import (
    NO_REFUSAL,
    Refusal,
    form_data,
    form_list,
    parse_int,
    redirect,
    render,
    render_block,
    shows_again,
)
from crm.leads import replay, rules, rulesets, service
from crm.portals.staff.live import job_progress_stream
from crm.portals.staff.navigation import STAFF_NAV

MANAGE = [requires(Permission.LEADS_ROUTING_MANAGE)]
BLANK_ROWS = 3


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


def _text_list(value) -> str:
    return value if isinstance(value, str) else ", ".join(value or [])


def _ib_choice(value) -> str:
    if value in ("any", "yes", "no"):
        return value
    return {True: "yes", False: "no"}.get(value, "any")


def _routing_form(doc: dict) -> dict:
    """The document as form values (rows of text fields)."""
    form: dict = {
        "fallback_pool_id": doc.get("fallback_pool_id") or "",
        "timezone": doc.get("timezone") or "UTC",
    }
    overrides = doc.get("overrides") or {}
    form |= {
        "returning_client": overrides.get("returning_client", True),
        "ib_manager": overrides.get("ib_manager", True),
        "vip_min_score": overrides.get("vip_min_score") or "",
        "vip_pool_id": overrides.get("vip_pool_id") or "",
    }
    bands = overrides.get("sla_by_score") or []
    form["bands"] = [{"min_score": b["min_score"], "minutes": round(b["seconds"] / 60, 1)} for b in bands] + [
        {"min_score": "", "minutes": ""}
    ] * (3 - len(bands) if len(bands) < 3 else 1)
    rows = []
    for rule in doc.get("rules") or []:
        when = rule.get("when") or {}
        hours = when.get("hours") or ["", ""]
        rows.append(
            {
                "name": rule.get("name", ""),
                "pool_id": rule.get("pool_id") or "",
                "countries": _text_list(when.get("countries")),
                "regions": when.get("regions") or [],
                "languages": _text_list(when.get("languages")),
                "sources": _text_list(when.get("sources")),
                "brands": _text_list(when.get("brands")),
                "score_min": "" if when.get("score_min") is None else when["score_min"],
                "score_max": "" if when.get("score_max") is None else when["score_max"],
                "ib_referred": _ib_choice(when.get("ib_referred")),
                "hours_from": hours[0],
                "hours_to": hours[1],
            }
        )
    form["rows"] = (
        rows
        + [
            {
                "name": "",
                "pool_id": "",
                "countries": "",
                "regions": [],
                "languages": "",
                "sources": "",
                "brands": "",
                "score_min": "",
                "score_max": "",
                "ib_referred": "any",
                "hours_from": "",
                "hours_to": "",
            }
        ]
        * BLANK_ROWS
    )
    return form


def _scoring_form(doc: dict) -> dict:
    rows = [
        {
            "name": r.get("name", ""),
            "field": r.get("field", ""),
            "op": r.get("op", "eq"),
            "points": r.get("points", ""),
            "value": ", ".join(r["value"])
            if isinstance(r.get("value"), list)
            else ("" if r.get("value") is None else r["value"]),
        }
        for r in doc.get("rules") or []
    ]
    return {"rows": rows + [{"name": "", "field": "", "op": "eq", "value": "", "points": ""}] * BLANK_ROWS}


async def _doc_from_form(request: Request, kind: str, form: dict) -> dict:
    count = parse_int(form.get("row_count")) or 0
    if kind == "scoring":
        return {
            "rules": [
                {
                    "name": form.get(f"r{i}_name", ""),
                    "field": form.get(f"r{i}_field", ""),
                    "op": form.get(f"r{i}_op", "eq"),
                    "value": form.get(f"r{i}_value", ""),
                    "points": form.get(f"r{i}_points", ""),
                }
                for i in range(count)
                if form.get(f"r{i}_field") and not form.get(f"r{i}_delete")
            ]
        }
    rows = []
    for i in range(count):
        if not form.get(f"r{i}_pool") or form.get(f"r{i}_delete"):
            continue
        hours = [form.get(f"r{i}_hours_from", ""), form.get(f"r{i}_hours_to", "")]
        rows.append(
            (
                parse_int(form.get(f"r{i}_position")) or i + 1,
                i,
                {
                    "name": form.get(f"r{i}_name", ""),
                    "pool_id": form.get(f"r{i}_pool"),
                    "when": {
                        "countries": form.get(f"r{i}_countries", ""),
                        "regions": await form_list(request, f"r{i}_regions"),
                        "languages": form.get(f"r{i}_languages", ""),
                        "sources": form.get(f"r{i}_sources", ""),
                        "brands": form.get(f"r{i}_brands", ""),
                        "score_min": form.get(f"r{i}_score_min", ""),
                        "score_max": form.get(f"r{i}_score_max", ""),
                        "ib_referred": form.get(f"r{i}_ib", "any"),
                        "hours": hours if any(hours) else None,
                    },
                },
            )
        )
    bands = [
        {
            "min_score": form.get(f"band{i}_score", ""),
            "seconds": int(float(form.get(f"band{i}_minutes") or 0) * 60) or "",
        }
        for i in range(3)
        if form.get(f"band{i}_score") not in (None, "") and form.get(f"band{i}_minutes")
    ]
    return {
        "rules": [r for _, _, r in sorted(rows)],
        "fallback_pool_id": form.get("fallback_pool_id") or None,
        "timezone": form.get("timezone") or "UTC",
        "overrides": {
            "returning_client": form.get("returning_client") == "on",
            "ib_manager": form.get("ib_manager") == "on",
            "vip_min_score": form.get("vip_min_score", ""),
            "vip_pool_id": form.get("vip_pool_id", ""),
            "sla_by_score": bands,
        },
    }


async def _editor(request: Request, refusal: Refusal = NO_REFUSAL, *, kind: str, entity_id: int) -> Response:
    """The draft editor; after a refused save, the rows as typed with their errors."""
    if kind not in rulesets.KINDS:
        raise ValidationFailed("Unknown kind of rules")
    entity_id = _entity(request, entity_id)
    doc = await _doc_from_form(request, kind, refusal.form) if refusal.form else None
    errors, status = refusal.errors, refusal.status
    versions = await rulesets.versions(kind, entity_id)
    draft = next((v for v in versions if v["status"] in ("draft", "pending")), None)
    published = next((v for v in versions if v["status"] == "published"), None)
    if doc is None:
        doc = (draft or published or {"rules": {}})["rules"] or {}
    form = _routing_form(doc) if kind == "routing" else _scoring_form(doc)
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
        actor, kind, entity_id, await _doc_from_form(request, kind, form), form.get("note", "")
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
    current = await rulesets.entity_rules()
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
        {"current": current, "rows": rows, "errors": errors, "entities": await active_entity_names()},
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
    await rulesets.propose_entity_rules(
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
