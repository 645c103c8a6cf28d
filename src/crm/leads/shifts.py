"""Each agent's weekly hours and days off, and the desk's overview of who can take leads now; changes take
effect at once and are audited with before and after (like pools, unlike the approved rule sets)."""

from __future__ import annotations

import datetime as dt
import json
import re

from crm.core.audit.service import record_audit
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import NotFound, ValidationFailed
from crm.core.permissions import Permission
from crm.leads import rules
from crm.leads.routing import person
from crm.leads.tags import LeadsTag

SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)\s*[-–]\s*([01]\d|2[0-4]):([0-5]\d)$")


def parse_hours(form: dict) -> dict:
    """Weekly hours from one text field per day: "09:00-17:00, 20:00-23:00"; a span may end after midnight."""
    hours, errors = {}, {}
    for day in rules.DAYS:
        text = str(form.get(f"hours_{day}") or "").strip()
        if not text:
            continue
        spans = []
        for part in text.split(","):
            match = SPAN.match(part.strip())
            if not match:
                errors[f"hours_{day}"] = "Use HH:MM-HH:MM, comma-separated (e.g. 09:00-13:00, 14:00-18:00)."
                break
            start, end = f"{match[1]}:{match[2]}", f"{match[3]}:{match[4]}"
            if start == end:
                errors[f"hours_{day}"] = "A span needs different start and end times."
                break
            spans.append([start, "00:00" if end == "24:00" else end])
        hours[day] = spans
    if errors:
        raise ValidationFailed("Please correct the hours", field_errors=errors)
    return hours


async def _managed_agent(actor: Actor, agent_id: int) -> dict:
    rows = await fetch(
        """SELECT DISTINCT u.id, u.full_name, ra.entity FROM staff_user u JOIN role_assignment ra
        ON ra."user" = u.id
           WHERE u.id = $1 AND ra.status = 'active'""",
        agent_id,
    )
    if not rows or not any(actor.can(Permission.LEADS_ROUTING_MANAGE, r["entity"]) for r in rows):
        raise NotFound("Agent")
    return {
        "id": rows[0]["id"],
        "full_name": rows[0]["full_name"],
        "entity_id": next(
            r["entity"] for r in rows if actor.can(Permission.LEADS_ROUTING_MANAGE, r["entity"])
        ),
    }


async def schedule(actor: Actor, agent_id: int) -> dict:
    agent = await _managed_agent(actor, agent_id)
    rows = await fetch("SELECT timezone, hours FROM agent_schedule WHERE agent_id = $1", agent_id)
    days_off = await fetch(
        "SELECT id, day, note FROM agent_day_off WHERE agent_id = $1 AND day >= current_date - 7 ORDER BY "
        "day",
        agent_id,
    )
    hours = (
        json.loads(rows[0]["hours"])
        if rows and isinstance(rows[0]["hours"], str)
        else (rows[0]["hours"] if rows else {})
    )
    timezone = rows[0]["timezone"] if rows else "UTC"
    working, note = (
        rules.on_shift(hours, timezone, {d["day"] for d in days_off}, dt.datetime.now(dt.UTC))
        if hours
        else (True, "no shift pattern (always on)")
    )
    return agent | {
        "timezone": timezone,
        "hours": hours,
        "days_off": [dict(d) for d in days_off],
        "on_shift": working,
        "shift_note": note,
    }


async def set_schedule(actor: Actor, agent_id: int, form: dict) -> None:
    agent = await _managed_agent(actor, agent_id)
    timezone = str(form.get("timezone") or "UTC").strip()
    if rules.zone(timezone).key != timezone:
        raise ValidationFailed(
            "Unknown time zone", field_errors={"timezone": "An IANA zone, e.g. America/Mexico_City."}
        )
    hours = parse_hours(form)
    async with transaction():
        before = await current_connection().fetchrow(
            "SELECT timezone, hours FROM agent_schedule WHERE agent_id = $1", agent_id
        )
        await current_connection().execute(
            "INSERT INTO agent_schedule (agent_id, timezone, hours) VALUES ($1, $2, $3::jsonb) ON CONFLICT "
            "(agent_id) "
            "DO UPDATE SET timezone = excluded.timezone, hours = excluded.hours",
            agent_id,
            timezone,
            json.dumps(hours),
        )
        await record_audit(
            actor,
            LeadsTag.AGENT_SCHEDULE,
            target_type="staff_user",
            target_id=agent_id,
            target_label=agent["full_name"],
            entity_id=agent["entity_id"],
            before=dict(before) if before else None,
            after={"timezone": timezone, "hours": hours},
        )


async def add_day_off(actor: Actor, agent_id: int, day: str, note: str = "") -> None:
    agent = await _managed_agent(actor, agent_id)
    try:
        parsed = dt.date.fromisoformat(day)
    except ValueError:
        raise ValidationFailed("Bad date", field_errors={"day": "Pick a date."}) from None
    async with transaction():
        await current_connection().execute(
            "INSERT INTO agent_day_off (agent_id, day, note) VALUES ($1, $2, $3)",
            agent_id,
            parsed,
            note.strip()[:120],
        )
        await record_audit(
            actor,
            LeadsTag.AGENT_DAY_OFF,
            target_type="staff_user",
            target_id=agent_id,
            target_label=agent["full_name"],
            entity_id=agent["entity_id"],
            after={"day": parsed, "note": note},
        )


async def agents_overview(actor: Actor, entity_id: int) -> list[dict]:
    """Everyone who may work leads in the entity: presence, shift now, open leads."""
    actor.require(Permission.LEADS_ROUTING_MANAGE, entity_id)
    now = dt.datetime.now(dt.UTC)
    out = []
    for agent in await fetch(
        """SELECT DISTINCT u.id FROM staff_user u JOIN role_assignment ra ON ra."user" = u.id JOIN role r
        ON r.id = ra.role
               WHERE ra.entity = $1 AND ra.status = 'active' AND u.active
                   AND 'leads:lead:work' = ANY(r.permissions)""",
        entity_id,
    ):
        candidate = await person(agent["id"], entity_id, now)
        if candidate:
            out.append(candidate)
    return sorted(out, key=lambda c: c.name)
