"""The side-effect-free preview of a hypothetical lead: its score with each rule's points, the rule and pool
it would match, every candidate with the reason, and the agent it would go to. Nothing is saved and no counter
moves."""

from __future__ import annotations

import dataclasses
import json

from crm.core.context import Actor
from crm.core.db import fetch, transaction
from crm.core.errors import ValidationFailed
from crm.core.permissions import Permission
from crm.leads.context import (
    _now,
    facts_for,
    lead_context,
    published_rules,
    score_for,
)
from crm.leads.normalise import clean
from crm.leads.routing import decide


async def preview(actor: Actor, entity_id: int, raw: dict, *, use_drafts: bool) -> dict:
    """What would happen to this lead now: its score (with each rule's points), the matched rule and pool,
    every candidate with the reason, and the agent chosen. Nothing is saved and no counter moves."""
    actor.require(Permission.LEADS_ROUTING_MANAGE, entity_id)
    lead_in, errors = clean({"first_name": "Preview", **raw})
    if not raw.get("email") and not raw.get("phone"):
        errors.pop("email", None)  # a preview needs no way to reach the person
    if errors:
        raise ValidationFailed("The lead has invalid fields", field_errors=errors)

    async def rule_doc(kind: str) -> dict | None:
        if use_drafts:
            rows = await fetch(
                "SELECT * FROM lead_rule_set WHERE kind = $1 AND entity_id = $2 AND status IN "
                "('draft', 'pending') ORDER BY version DESC LIMIT 1",
                kind,
                entity_id,
            )
            if rows:
                return dict(rows[0]) | {
                    "rules": json.loads(rows[0]["rules"])
                    if isinstance(rows[0]["rules"], str)
                    else rows[0]["rules"]
                }
        return await published_rules(kind, entity_id)

    lead = {
        **dataclasses.asdict(lead_in),
        "id": 0,
        "entity_id": entity_id,
        "signals": {},
        "score": 0,
        "email_key": lead_in.email_key,
    }
    for signal in ("kyc_started", "demo_sessions"):
        if raw.get(signal):
            lead["signals"][signal] = (
                raw[signal] in ("1", "on", "true", True) if signal == "kyc_started" else int(raw[signal])
            )
    async with transaction():
        ctx = await lead_context(entity_id, lead_in.email_key, lead_in.phone, lead_in.ib_code)
        ctx = dataclasses.replace(ctx, scoring=await rule_doc("scoring"), routing=await rule_doc("routing"))
        score, contributions = score_for(lead, ctx)
        timezone = ((ctx.routing or {}).get("rules") or {}).get("timezone") or "UTC"
        facts = facts_for(
            lead,
            entity_code=ctx.entity_code,
            returning=ctx.returning_owner is not None,
            ib_referred=ctx.ib_referred,
            timezone=timezone,
            score=score,
        )
        decision = await decide(
            ctx.routing,
            facts,
            entity_id=entity_id,
            now=_now(),
            returning_owner_id=ctx.returning_owner,
            ib_manager_id=ctx.ib_manager,
            dry_run=True,
        )
    names = {
        r["id"]: r["full_name"]
        for r in await fetch("SELECT id, full_name FROM staff_user WHERE id = $1", decision.agent_id or 0)
    }
    return {
        "score": score,
        "contributions": contributions,
        "decision": decision,
        "agent_name": names.get(decision.agent_id),
        "facts": dataclasses.asdict(facts) | {"region": facts.region},
        "scoring_version": (ctx.scoring or {}).get("version"),
        "routing_version": (ctx.routing or {}).get("version"),
    }
