"""Brands: the trading names prospects see. A brand's code is what `lead.brand` and the entity rules carry
(the public form's ?brand=); its name, colour and risk warning dress the public pages. Group-wide data,
edited by entity administrators in the UI and audited."""

from __future__ import annotations

import re

from crm.clients.tags import ClientsTag
from crm.core.audit.service import record_audit
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.permissions import Permission
from crm.core.scope import group_level

FIELDS = ("code", "name", "accent", "risk_warning", "active")


async def brands() -> list[dict]:
    return [dict(r) for r in await fetch("SELECT * FROM brand ORDER BY active DESC, name")]


async def for_public(code: str) -> dict | None:
    """The active brand of this code, else the first active brand; None when the group has none."""
    rows = await fetch(
        "SELECT code, name, accent, risk_warning FROM brand WHERE active "
        "ORDER BY lower(code) = lower($1) DESC, id LIMIT 1",
        (code or "")[:40],
    )
    return dict(rows[0]) if rows else None


def contrast_on_white(colour: str) -> float:
    """The WCAG contrast ratio of white on `colour` (#rrggbb): the brand colour carries white text."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def _clean(form: dict) -> dict:
    errors = {}
    code = str(form.get("code") or "").strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,39}", code):
        errors["code"] = "2 to 40 lower-case letters, digits and hyphens (it appears in links: ?brand=…)."
    name = " ".join(str(form.get("name") or "").split())
    if not 2 <= len(name) <= 120:
        errors["name"] = "Enter the name prospects see (2 to 120 characters)."
    accent = str(form.get("accent") or "#1d4ed8").strip().lower()
    if not re.fullmatch(r"#[0-9a-f]{6}", accent):
        errors["accent"] = "A colour as #rrggbb."
    elif contrast_on_white(accent) < 4.5:
        errors["accent"] = (
            f"White text on this colour is hard to read ({contrast_on_white(accent):.1f}:1; at least 4.5:1 "
            "is needed). Choose a darker shade."
        )
    warning = str(form.get("risk_warning") or "").strip()
    if len(warning) > 1000:
        errors["risk_warning"] = "Keep the risk warning under 1,000 characters."
    if errors:
        raise ValidationFailed("Please correct the highlighted fields", field_errors=errors)
    return {
        "code": code,
        "name": name,
        "accent": accent,
        "risk_warning": warning,
        "active": form.get("active") in ("on", "true", "1", True),
    }


async def save(actor: Actor, brand_id: int | None, form: dict) -> int:
    """Create or change a brand (brands serve every entity, so only a group-wide administrator may)."""
    if not await group_level(actor, Permission.ACCESS_ENTITY_MANAGE):
        raise PermissionDenied(
            "Brands serve the whole group: editing them needs entity administration everywhere"
        )
    fields = _clean(form)
    async with transaction():
        conn = current_connection()
        taken = await conn.fetchval(
            "SELECT id FROM brand WHERE lower(code) = $1 AND id IS DISTINCT FROM $2", fields["code"], brand_id
        )
        if taken:
            raise ValidationFailed(
                "Please correct the highlighted fields", field_errors={"code": "Another brand has this code."}
            )
        before = None
        if brand_id is not None:
            row = await conn.fetchrow("SELECT * FROM brand WHERE id = $1 FOR UPDATE", brand_id)
            if row is None:
                raise NotFound("Brand")
            before = {k: row[k] for k in FIELDS}
            if before == fields:
                raise Conflict("Nothing changed")
            await conn.execute(
                "UPDATE brand SET code = $2, name = $3, accent = $4, risk_warning = $5, active = $6, "
                "updated_at = now() WHERE id = $1",
                brand_id,
                *(fields[k] for k in FIELDS),
            )
        else:
            brand_id = await conn.fetchval(
                "INSERT INTO brand (code, name, accent, risk_warning, active, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, now()) RETURNING id",
                *(fields[k] for k in FIELDS),
            )
        await record_audit(
            actor,
            ClientsTag.BRAND_SAVE,
            target_type="brand",
            target_id=brand_id,
            target_label=fields["name"],
            before=before,
            after=fields,
        )
    return brand_id
