"""KYC requirements per entity for compliance: the version in force, the draft as a form (levels, accepted
identity documents per country, restricted countries), every version, and submission for a second person's
approval."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath

from crm.core.errors import NotFound
from crm.core.guards import current_actor, requires
from crm.core.i18n import country_names
from crm.core.permissions import Permission
from crm.core.rules import service as rules
from crm.core.web import NO_REFUSAL, Refusal, form_data, form_list, redirect, render, shows_again
from crm.kyc import requirements
from crm.portals.staff.navigation import STAFF_NAV

MANAGE = [requires(Permission.KYC_RULES_MANAGE)]
LEVEL_ROWS_SPARE = COUNTRY_ROWS_SPARE = 1
MAX_ROWS = 60  # levels or countries a form may carry


def _rows(form: dict, name: str) -> int:
    """How many rows the form says it has (bounded: the count comes from the browser)."""
    value = str(form.get(name) or "0")
    return min(int(value), MAX_ROWS) if value.isascii() and value.isdigit() else 0


@get("/kyc/requirements", name="staff.kyc.requirements", guards=MANAGE)
async def overview(request: Request) -> Response:
    actor = current_actor(request)
    entities = []
    for entity_id in actor.entities_with(Permission.KYC_RULES_MANAGE):
        versions = await rules.versions(actor, requirements.KIND, entity_id)
        entities.append({"id": entity_id, "versions": versions})
    return render(request, "staff/kyc/requirements.html", {"entities": entities})


def _as_form(document: dict) -> dict:
    levels = document.get("levels", [])
    countries = sorted(document.get("identity_documents", {}).get("by_country", {}).items())
    return {
        "restricted_countries": ", ".join(document.get("restricted_countries", [])),
        "identity_default": document.get("identity_documents", {}).get("default", []),
        "countries": [{"code": c, "docs": d} for c, d in countries]
        + [{"code": "", "docs": []}] * COUNTRY_ROWS_SPARE,
        "levels": levels
        + [{"code": "", "name": "", "requires": [], "unlocks": [], "deposit_limit": ""}] * LEVEL_ROWS_SPARE,
        "proof_of_address_max_age_days": document.get("proof_of_address_max_age_days", 90),
        "note": "",
    }


async def _from_form(request: Request) -> dict:
    """The submitted rows as a requirements document (blank rows left out); rules.save_draft checks it."""
    form = await form_data(request)
    levels, countries = [], {}
    for n in range(_rows(form, "level_rows")):
        code = form.get(f"level-{n}-code", "")
        if code or form.get(f"level-{n}-name"):
            levels.append(
                {
                    "code": code,
                    "name": form.get(f"level-{n}-name", ""),
                    "requires": await form_list(request, f"level-{n}-requires"),
                    "unlocks": await form_list(request, f"level-{n}-unlocks"),
                    "deposit_limit": form.get(f"level-{n}-deposit_limit", ""),
                }
            )
    for n in range(_rows(form, "country_rows")):
        code = form.get(f"country-{n}-code", "")
        if code:
            countries[code] = await form_list(request, f"country-{n}-docs")
    return {
        "restricted_countries": [
            c.strip() for c in form.get("restricted_countries", "").replace(";", ",").split(",") if c.strip()
        ],
        "identity_documents": {
            "default": await form_list(request, "identity_default"),
            "by_country": countries,
        },
        "levels": levels,
        "proof_of_address_max_age_days": form.get("proof_of_address_max_age_days", ""),
    }


async def _edit_page(
    request: Request,
    refusal: Refusal = NO_REFUSAL,
    *,
    entity_id: int | None = None,
    version_id: int | None = None,
) -> Response:
    actor = current_actor(request)
    if entity_id is None:
        entity_id = (await rules.version(actor, version_id))["entity_id"]
    actor.require(Permission.KYC_RULES_MANAGE, entity_id)
    versions = await rules.versions(actor, requirements.KIND, entity_id)
    editable = next((v for v in versions if v["status"] in ("draft", "pending")), None)
    in_force = next((v for v in versions if v["status"] == "published"), None)
    base = editable or in_force
    form = _as_form(base["document"] if base else requirements.STARTING_POINT)
    if refusal.status != 200:
        form = _as_form(await _from_form(request)) | {"note": refusal.form.get("note", "")}
    return render(
        request,
        "staff/kyc/requirements_edit.html",
        {
            "entity_id": entity_id,
            "entity_name": request.scope.get("state", {}).get("entity_names", {}).get(entity_id, entity_id),
            "form": form,
            "errors": refusal.errors,
            "error": refusal.message,
            "versions": versions,
            "editable": editable,
            "in_force": in_force,
            "identity_documents": requirements.IDENTITY_DOCUMENTS,
            "requirement_names": requirements.REQUIREMENTS,
            "unlock_names": requirements.UNLOCKS,
            "countries": country_names("en"),
        },
        status=refusal.status,
    )


@get("/kyc/requirements/{entity_id:int}", name="staff.kyc.requirements.edit", guards=MANAGE)
async def edit(request: Request, entity_id: FromPath[int]) -> Response:
    return await _edit_page(request, entity_id=entity_id)


@post("/kyc/requirements/{entity_id:int}", name="staff.kyc.requirements.save", guards=MANAGE)
@shows_again(_edit_page)
async def save(request: Request, entity_id: FromPath[int]) -> Response:
    form = await form_data(request)
    saved = await rules.save_draft(
        current_actor(request), requirements.KIND, entity_id, await _from_form(request), form.get("note", "")
    )
    return redirect(request, f"/kyc/requirements/{entity_id}", flash=f"Draft v{saved['version']} saved")


@post(
    "/kyc/requirements/versions/{version_id:int}/submit", name="staff.kyc.requirements.submit", guards=MANAGE
)
@shows_again(_edit_page)
async def submit(request: Request, version_id: FromPath[int]) -> Response:
    actor = current_actor(request)
    version = await rules.version(actor, version_id)
    if version["kind"] != requirements.KIND:
        raise NotFound("Rules")
    form = await form_data(request)
    request_id = await rules.submit(actor, version_id, form.get("reason", ""))
    return redirect(
        request,
        f"/approvals/{request_id}",
        flash=f"v{version['version']} waits for another compliance officer's approval",
    )


handlers = [overview, edit, save, submit]

STAFF_NAV.add("Compliance", "KYC requirements", "/kyc/requirements", Permission.KYC_RULES_MANAGE, order=20)
