"""Approval policies as data: which tier of checkers a request needs, by action kind, entity and amount."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from crm.core.approvals.tables import ApprovalPolicy
from crm.core.db import fetch
from crm.core.errors import ValidationFailed


@dataclass(frozen=True)
class Tier:
    above: Decimal
    approvals: int
    require_role: str | None
    exclude_role: str | None = None


@dataclass(frozen=True)
class Requirement:
    """What one request needs: distinct approvals, an optional role among them, and where that came from."""

    approvals: int
    require_role: str | None
    expiry_hours: int | None
    policy_id: int | None
    policy_version: int | None
    exclude_role: str | None = None


def parse_tiers(raw: list[dict]) -> list[Tier]:
    """Validate tiers as entered: amounts are decimals, approvals 1-5, at most one tier per threshold."""
    tiers, errors = [], []
    for n, item in enumerate(raw, start=1):
        try:
            above = Decimal(str(item.get("above") or "0"))
            approvals = int(item.get("approvals") or 1)
        except (InvalidOperation, ValueError):
            errors.append(f"tier {n}: amount and approvals must be numbers")
            continue
        if above < 0 or not 1 <= approvals <= 5:
            errors.append(f"tier {n}: amount ≥ 0 and 1 to 5 approvals")
        require, exclude = (item.get("require_role") or None), (item.get("exclude_role") or None)
        if require and require == exclude:
            errors.append(f"tier {n}: a role cannot be both required and excluded")
        tiers.append(Tier(above, approvals, require, exclude))
    if len({t.above for t in tiers}) != len(tiers):
        errors.append("two tiers start at the same amount")
    if not tiers:
        errors.append("at least one tier")
    if errors:
        raise ValidationFailed("Please correct the tiers", field_errors={"tiers": "; ".join(errors)})
    return sorted(tiers, key=lambda t: t.above)


def choose_tier(tiers: list[Tier], amount: Decimal | None) -> Tier:
    """The tier with the highest threshold strictly below the amount (the lowest tier without an amount)."""
    if amount is None:
        return tiers[0]
    eligible = [t for t in tiers if amount > t.above or t.above == 0]
    return eligible[-1] if eligible else tiers[0]


async def requirement_for(
    kind: str, entity_id: int | None, amount: Decimal | None, default_approvals: int
) -> Requirement:
    """The entity's own active policy for the kind, else the group default, else the kind's built-in
    default."""
    rows = await ApprovalPolicy.select().where(
        (ApprovalPolicy.kind == kind)
        & ApprovalPolicy.active.eq(True)
        & (ApprovalPolicy.entity_id.is_null() | (ApprovalPolicy.entity_id == entity_id))
    )
    if not rows:
        return Requirement(default_approvals, None, None, None, None)
    policy = sorted(rows, key=lambda r: r["entity_id"] is None)[0]  # the entity's own wins
    tiers = json.loads(policy["tiers"]) if isinstance(policy["tiers"], str) else policy["tiers"]
    tier = choose_tier(parse_tiers(tiers), amount)
    return Requirement(
        tier.approvals,
        tier.require_role,
        policy["expiry_hours"],
        policy["id"],
        policy["version"],
        tier.exclude_role,
    )


async def holds_role(user_id: int, role_slug: str, entity_id: int | None) -> bool:
    rows = await fetch(
        """SELECT 1 FROM role_assignment ra JOIN role r ON r.id = ra.role
           WHERE ra."user" = $1 AND r.slug = $2 AND ra.status = 'active'
             AND ($3::int IS NULL OR ra.entity = $3)
             AND ra.valid_from <= now() AND (ra.valid_until IS NULL OR ra.valid_until > now()) LIMIT 1""",
        user_id,
        role_slug,
        entity_id,
    )
    return bool(rows)


async def list_policies() -> list[dict]:
    rows = await ApprovalPolicy.select().order_by(ApprovalPolicy.kind).order_by(ApprovalPolicy.entity_id)
    for row in rows:
        row["tiers"] = json.loads(row["tiers"]) if isinstance(row["tiers"], str) else row["tiers"]
    return rows


def tiers_from_form(form: dict) -> list[dict]:
    """Tier rows posted as above_N / approvals_N / role_N; blank rows are skipped."""
    rows = []
    for n in range(1, 6):
        above, count, role, exclude = (
            form.get(f"above_{n}", ""),
            form.get(f"approvals_{n}", ""),
            form.get(f"role_{n}", ""),
            form.get(f"exclude_{n}", ""),
        )
        if above or count or role or exclude:
            rows.append(
                {
                    "above": above or "0",
                    "approvals": count or "1",
                    "require_role": role or None,
                    "exclude_role": exclude or None,
                }
            )
    return [
        {
            "above": str(t.above),
            "approvals": t.approvals,
            "require_role": t.require_role,
            "exclude_role": t.exclude_role,
        }
        for t in parse_tiers(rows)
    ]
