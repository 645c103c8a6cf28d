"""Legal entities and teams: creating and editing them, audited."""

from __future__ import annotations

import re

from crm.core.audit.service import record_audit
from crm.core.audit.tags import AccessTag
from crm.core.context import Actor
from crm.core.db import transaction
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.org.tables import LegalEntity, StaffUser, Team, TeamKind
from crm.core.permissions import Permission

REGULATORS = (
    "CySEC",
    "FCA",
    "ASIC",
    "FSCA",
    "DFSA",
    "FSA (Seychelles)",
    "FSC (Mauritius)",
    "VFSC",
    "SCB",
    "Other",
)


def _entity_fields(form: dict) -> dict:
    errors = {}
    code = form.get("code", "").strip().upper()
    if not re.fullmatch(r"[A-Z0-9_-]{2,20}", code):
        errors["code"] = "2-20 letters, digits, - or _."
    name = form.get("name", "").strip()
    if not 2 <= len(name) <= 200:
        errors["name"] = "Enter the legal name."
    regulator = form.get("regulator", "").strip()
    if regulator not in REGULATORS:
        errors["regulator"] = "Choose a regulator."
    jurisdiction = form.get("jurisdiction", "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", jurisdiction):
        errors["jurisdiction"] = "Two-letter country code (ISO 3166), e.g. CY."
    currency = form.get("base_currency", "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        errors["base_currency"] = "Three-letter currency code (ISO 4217), e.g. EUR."
    if errors:
        raise ValidationFailed("Please correct the highlighted fields", field_errors=errors)
    return {
        "code": code,
        "name": name,
        "regulator": regulator,
        "jurisdiction": jurisdiction,
        "base_currency": currency,
    }


async def create_entity(actor: Actor, form: dict) -> int:
    """Add a legal entity (group-level: needs access:entity:manage somewhere)."""
    actor.require(Permission.ACCESS_ENTITY_MANAGE)
    fields = _entity_fields(form)
    async with transaction():
        if await LegalEntity.exists().where(LegalEntity.code == fields["code"]):
            raise ValidationFailed(
                "Code already used", field_errors={"code": "Another entity has this code."}
            )
        rows = await LegalEntity.insert(LegalEntity(**fields)).returning(LegalEntity.id)
        entity_id = rows[0]["id"]
        await record_audit(
            actor,
            AccessTag.ENTITY_CREATE,
            target_type="legal_entity",
            target_id=entity_id,
            target_label=fields["name"],
            entity_id=entity_id,
            after=fields,
        )
    return entity_id


def _team_fields(form: dict) -> dict:
    errors = {}
    name = form.get("name", "").strip()
    if not 2 <= len(name) <= 120:
        errors["name"] = "Enter a team name."
    kind = form.get("kind", "")
    if kind not in {k.value for k in TeamKind}:
        errors["kind"] = "Choose a kind of team."
    languages = [x.strip().lower() for x in form.get("languages", "").split(",") if x.strip()]
    if any(not re.fullmatch(r"[a-z]{2,3}", x) for x in languages):
        errors["languages"] = "Comma-separated language codes, e.g. en, es, ar."
    if errors:
        raise ValidationFailed("Please correct the highlighted fields", field_errors=errors)
    return {"name": name, "kind": kind, "region": form.get("region", "").strip()[:60], "languages": languages}


async def create_team(actor: Actor, entity_id: int | None, form: dict) -> int:
    """Add a team to an entity the actor manages."""
    if entity_id is None or not actor.can(Permission.ACCESS_ENTITY_MANAGE, entity_id):
        raise ValidationFailed(
            "Choose an entity you manage", field_errors={"entity": "Choose an entity you manage."}
        )
    fields = _team_fields(form)
    lead_id = form.get("lead") or None
    async with transaction():
        if not await LegalEntity.exists().where(LegalEntity.id == entity_id):
            raise NotFound("Entity")
        if lead_id and not await StaffUser.exists().where(StaffUser.id == int(lead_id)):
            raise ValidationFailed("Unknown team lead", field_errors={"lead": "Choose a staff user."})
        if await Team.exists().where((Team.entity == entity_id) & (Team.name == fields["name"])):
            raise Conflict("This entity already has a team with that name")
        rows = await Team.insert(
            Team(entity=entity_id, lead=int(lead_id) if lead_id else None, **fields)
        ).returning(Team.id)
        team_id = rows[0]["id"]
        await record_audit(
            actor,
            AccessTag.TEAM_CREATE,
            target_type="team",
            target_id=team_id,
            target_label=fields["name"],
            entity_id=entity_id,
            after={**fields, "lead": lead_id},
        )
    return team_id


async def entities_visible_to(actor: Actor) -> list[dict]:
    """Entities the actor holds any permission in (group admins with entity:manage see all)."""
    query = LegalEntity.select().order_by(LegalEntity.code)
    if not actor.can(Permission.ACCESS_ENTITY_MANAGE):
        query = query.where(LegalEntity.id.is_in(actor.entity_ids or [-1]))
    return await query


async def teams_visible_to(actor: Actor) -> list[dict]:
    return (
        await Team.select(
            Team.all_columns(),
            Team.entity.code.as_alias("entity_code"),
            Team.lead.full_name.as_alias("lead_name"),
        )
        .where(Team.entity.is_in(actor.entity_ids or [-1]))
        .order_by(Team.entity)
        .order_by(Team.name)
    )


async def active_entity_names() -> dict[int, str]:
    """Every active entity (group-wide settings such as the entity rules name them all)."""
    rows = (
        await LegalEntity.select(LegalEntity.id, LegalEntity.code, LegalEntity.name)
        .where(LegalEntity.active.eq(True))
        .order_by(LegalEntity.id)
    )
    return {r["id"]: f"{r['code']} · {r['name']}" for r in rows}


async def entity_names(entity_ids: list[int]) -> dict[int, str]:
    if not entity_ids:
        return {}
    rows = await LegalEntity.select(LegalEntity.id, LegalEntity.code, LegalEntity.name).where(
        LegalEntity.id.is_in(entity_ids)
    )
    return {r["id"]: f"{r['code']} · {r['name']}" for r in rows}
