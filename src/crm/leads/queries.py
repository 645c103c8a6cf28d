"""Scoped reads of leads: agents see their own leads, staff with leads:team:view every lead of their entities.
Contact data is masked on every list and page unless this user revealed it (reason, time box, audit)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from crm.core.cases.queries import cases_about
from crm.core.context import Actor
from crm.core.db import fetch
from crm.core.errors import NotFound
from crm.core.inputs import parse_int
from crm.core.listing import Column, Listing, Sort
from crm.core.masking import mask
from crm.core.permissions import Permission
from crm.core.search import prefix_range
from crm.leads.context import may_see
from crm.leads.tables import OPEN_LEAD_STATUSES

PAGE = 100
CONTACT_FIELDS = {"email": "E-mail", "phone": "Phone"}

_LIST = """
SELECT l.id, l.reference, l.entity_id, l.first_name, l.last_name, l.email, l.phone, l.country, l.language,
    l.source,
       l.campaign, l.status, l.score, l.owner_id, l.pool_id, l.created_at, l.routed_at, l.first_contact_at,
       l.case_id,
       u.full_name AS owner_name, p.name AS pool_name, e.code AS entity_code, c.sla_due_at,
       c.reference AS case_reference, lower(l.last_name) AS sort_name,
       (c.sla_due_at <= now() AND l.first_contact_at IS NULL AND c.status IN ('open',
           'in_progress')) AS overdue
FROM lead l
JOIN legal_entity e ON e.id = l.entity_id
LEFT JOIN staff_user u ON u.id = l.owner_id
LEFT JOIN lead_pool p ON p.id = l.pool_id
LEFT JOIN work_case c ON c.id = l.case_id
WHERE {where}
ORDER BY {order}
LIMIT {limit}
"""


@dataclass
class LeadFilter:
    view: str = "mine"  # mine, all, unassigned
    status: str = "open"  # open, any, or one status
    source: str = ""
    country: str = ""
    pool_id: int | None = None
    owner_id: int | None = None
    search: str = ""
    sort: str = "-received"  # a key of LISTING's columns, "-" for descending (desk lists only)
    after: str = ""  # the keyset cursor of the next page

    @classmethod
    def from_params(cls, params: dict[str, str], view: str = "mine") -> LeadFilter:
        def number(name: str) -> int | None:
            return parse_int(params.get(name))

        return cls(
            view=view,
            status=(params.get("status") or "open")[:20],
            source=(params.get("source") or "")[:60],
            country=(params.get("country") or "").upper()[:2],
            pool_id=number("pool_id"),
            owner_id=number("owner_id"),
            search=(params.get("q") or "").strip()[:60],
            sort=(params.get("sort") or LISTING.default)[:20],
            after=(params.get("after") or "")[:200],
        )


def _where(actor: Actor, f: LeadFilter) -> tuple[str, list]:
    if f.view == "mine":
        where, args = (
            ["l.entity_id = ANY($1::int[])", "l.owner_id = $2"],
            [actor.entities_with(Permission.LEADS_LEAD_VIEW) or [-1], actor.user_id],
        )
    else:
        where, args = (
            ["l.entity_id = ANY($1::int[])"],
            [actor.entities_with(Permission.LEADS_TEAM_VIEW) or [-1]],
        )
        if f.view == "unassigned":
            where.append("l.owner_id IS NULL")
    where.append("l.merged_into_id IS NULL")

    def add(clause: str, value) -> None:
        args.append(value)
        where.append(clause.replace("?", f"${len(args)}"))

    if f.status == "open":
        add("l.status = ANY(?::text[])", list(OPEN_LEAD_STATUSES))
    elif f.status and f.status != "any":
        add("l.status = ?", f.status)
    if f.source:
        add("l.source = ?", f.source.lower())
    if f.country:
        add("l.country = ?", f.country)
    if f.pool_id is not None:
        add("l.pool_id = ?", f.pool_id)
    if f.owner_id is not None and f.view != "mine":
        add("l.owner_id = ?", f.owner_id)
    if f.search:  # a reference, or the start of a first or last name (on their indexes); never contact data
        lo, hi = prefix_range(f.search.strip().lower())
        args += [f.search.strip().upper(), lo, hi]
        ref, low, high = len(args) - 2, len(args) - 1, len(args)
        starts = "lower(l.{0}) ~>=~ ${1} AND lower(l.{0}) ~<~ ${2}"
        where.append(
            f"(l.reference = ${ref} OR ({starts.format('last_name', low, high)})"
            f" OR ({starts.format('first_name', low, high)}))"
        )
    return " AND ".join(where), args


def _masked(row: dict) -> dict:
    for name in CONTACT_FIELDS:
        row[name] = mask(name, row[name])
    return row


# The desk lists' sortable columns (an agent's own list keeps its working order).
LISTING = Listing(
    columns={
        "received": Column("l.id", "id", int, descending=True),
        "score": Column("l.score", "score", int, descending=True),
        "name": Column("lower(l.last_name)", "sort_name", str),
        "country": Column("l.country", "country", str),
    },
    default="-received",
    id_sql="l.id",
)


def sort_of(f: LeadFilter, path: str = "", params: dict | None = None) -> Sort:
    return LISTING.sort({**(params or {}), "sort": f.sort}, path)


async def list_leads(actor: Actor, f: LeadFilter) -> tuple[list[dict], str | None]:
    """A page of leads and the cursor of the next (None on the last). Desk lists are sorted by a column of
    LISTING, newest first by default, and paged by keyset; an agent's own list puts the leads waiting for a
    first contact first, the nearest SLA on top (two index reads, so it costs the same at 16,000 leads as
    at 16)."""
    where, args = _where(actor, f)
    if f.view != "mine":
        sort = sort_of(f)
        after = LISTING.after_sql(sort, f.after, len(args) + 1)
        if after is not None:
            where, args = f"{where} AND {after[0]}", [*args, *after[1]]
        sql = _LIST.format(where=where, order=LISTING.order_sql(sort), limit=PAGE + 1)
        rows = [_masked(dict(r)) for r in await fetch(sql, *args)]
        return rows[:PAGE], (LISTING.cursor_of(sort, rows[PAGE - 1]) if len(rows) > PAGE else None)
    waiting = _LIST.format(
        where=f"{where} AND l.first_contact_at IS NULL",
        order="c.sla_due_at NULLS LAST, l.id DESC",
        limit=PAGE,
    )
    rows = [dict(r) for r in await fetch(waiting, *args)]
    if len(rows) < PAGE:
        rest = _LIST.format(
            where=f"{where} AND l.first_contact_at IS NOT NULL", order="l.id DESC", limit=PAGE - len(rows)
        )
        rows += [dict(r) for r in await fetch(rest, *args)]
    return [_masked(r) for r in rows], None


COUNT_CAP = 10_000  # as the case lists: each counter reads at most this many rows ("10,000+")
_COUNTS = """
SELECT (SELECT count(*) FROM (SELECT 1 FROM lead l WHERE {where} LIMIT {cap}) x) AS total,
       (SELECT count(*) FROM (SELECT 1 FROM lead l WHERE {where} AND l.first_contact_at IS NULL
            LIMIT {cap}) x) AS waiting,
       (SELECT count(*) FROM (SELECT 1 FROM lead l JOIN work_case c ON c.id = l.case_id
            WHERE {where} AND l.first_contact_at IS NULL AND c.sla_due_at <= now()
              AND c.status IN ('open', 'in_progress') LIMIT {cap}) x) AS overdue
"""


MINE_CAP = 1_000  # an agent's own counters say "1,000+": read on every page of theirs, they must stay cheap


async def counts(actor: Actor, f: LeadFilter) -> dict:
    """The list's counters, each reading at most its cap + 1 rows; `cap` says which (shown as "1,000+")."""
    where, args = _where(actor, f)
    cap = MINE_CAP if f.view == "mine" else COUNT_CAP
    return dict((await fetch(_COUNTS.format(where=where, cap=cap + 1), *args))[0]) | {"cap": cap}


async def active_reveals(actor: Actor, lead_id: int) -> dict[str, dt.datetime]:
    rows = await fetch(
        'SELECT field, expires_at FROM pii_reveal WHERE "user" = $1 AND lead_id = $2 AND expires_at > now()',
        actor.user_id,
        lead_id,
    )
    return {r["field"]: r["expires_at"] for r in rows}


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


async def lead_openable(actor: Actor, lead_id: int) -> bool:
    """Whether the actor may open this lead's page (a link is shown only then, never one to a 403)."""
    rows = await fetch("SELECT entity_id, owner_id FROM lead WHERE id = $1", lead_id)
    return bool(rows) and may_see(actor, dict(rows[0]))


async def lead_detail(actor: Actor, reference: str) -> dict:
    rows = await fetch(
        """SELECT l.*, u.full_name AS owner_name, p.name AS pool_name, e.code AS entity_code,
        c.reference AS case_reference, lower(l.last_name) AS sort_name,
                  c.sla_due_at, c.status AS case_status, m.reference AS merged_into_reference
           FROM lead l JOIN legal_entity e ON e.id = l.entity_id LEFT JOIN staff_user u ON u.id = l.owner_id
           LEFT JOIN lead_pool p ON p.id = l.pool_id LEFT JOIN work_case c ON c.id = l.case_id
           LEFT JOIN lead m ON m.id = l.merged_into_id WHERE l.reference = $1""",
        reference,
    )
    if not rows or not may_see(actor, dict(rows[0])):
        raise NotFound("Lead")
    lead = dict(rows[0])
    for name in ("utm", "signals", "score_detail"):
        lead[name] = _json(lead[name])
    revealed = await active_reveals(actor, lead["id"])
    lead["contact"] = {
        name: {
            "label": label,
            "masked": name not in revealed,
            "empty": not lead[name],
            "value": lead[name] if name in revealed else mask(name, lead[name]),
            "expires_at": revealed.get(name),
        }
        for name, label in CONTACT_FIELDS.items()
    }
    for name in CONTACT_FIELDS:
        lead.pop(name)
    lead.pop("email_key", None)
    lead["timeline"] = [
        dict(r) | {"data": _json(r["data"])}
        for r in await fetch(
            """SELECT a.*, e.direction AS email_direction, e.status AS email_status, e.body AS email_body,
                  e.error AS email_error, e.sent_at AS email_sent_at, e.attempts AS email_attempts
           FROM lead_activity a LEFT JOIN lead_email e ON a.kind = 'email'
               AND e.id = (a.data->>'email_id')::int
           WHERE a.lead = $1 ORDER BY a.id DESC LIMIT 300""",
            lead["id"],
        )
    ]
    lead["decisions"] = [
        dict(r) | {"candidates": _json(r["candidates"])}
        for r in await fetch(
            """SELECT d.*, u.full_name AS agent_name, p.name AS pool_name FROM routing_decision d
           LEFT JOIN staff_user u ON u.id = d.agent_id LEFT JOIN lead_pool p ON p.id = d.pool_id
           WHERE d.lead = $1 ORDER BY d.id DESC LIMIT 20""",
            lead["id"],
        )
    ]
    lead["calls"] = [
        dict(r)
        for r in await fetch(
            """SELECT c.*, u.full_name AS agent_name FROM call_record c LEFT JOIN staff_user u
            ON u.id = c.agent_id
           WHERE c.lead = $1 ORDER BY c.started_at DESC LIMIT 100""",
            lead["id"],
        )
    ]
    found = [
        dict(r) | {"reasons": _json(r["reasons"])}
        for r in await fetch(
            """SELECT d.id, d.score, d.reasons, d.status, o.reference, o.status AS other_status, o.owner_id,
            o.entity_id, o.created_at
           FROM lead_duplicate d JOIN lead o ON o.id = CASE WHEN d.lead = $1 THEN d.other ELSE d.lead END
           WHERE (d.lead = $1 OR d.other = $1) AND d.status = 'open' AND o.merged_into_id IS NULL
           ORDER BY d.score DESC LIMIT 50""",
            lead["id"],
        )
    ]
    # Only what the viewer may see, and only in the lead's entity (where a merge is possible); a duplicate in
    # another entity the viewer also oversees is a count (a signal), never the other record.
    lead["duplicates"] = [d for d in found if d["entity_id"] == lead["entity_id"] and may_see(actor, d)][:20]
    lead["duplicates_elsewhere"] = sum(
        1
        for d in found
        if d["entity_id"] != lead["entity_id"] and actor.can(Permission.LEADS_TEAM_VIEW, d["entity_id"])
    )
    lead["cases"] = await cases_about(actor, "lead", lead["id"])
    lead["can_work"] = actor.can(Permission.LEADS_LEAD_WORK, lead["entity_id"]) and not lead["merged_into_id"]
    lead["can_reveal"] = actor.can(Permission.CLIENTS_PII_REVEAL, lead["entity_id"])
    lead["can_manage"] = actor.can(Permission.LEADS_TEAM_VIEW, lead["entity_id"]) and lead["can_work"]
    return lead


async def agents_for(actor: Actor, entity_id: int) -> list[dict]:
    """Staff who may work leads in the entity (for manual assignment)."""
    return [
        dict(r)
        for r in await fetch(
            """SELECT DISTINCT u.id, u.full_name FROM staff_user u JOIN role_assignment ra ON ra."user" = u.id
           JOIN role r ON r.id = ra.role WHERE ra.entity = $1 AND ra.status = 'active' AND u.active
             AND 'leads:lead:work' = ANY(r.permissions) AND ra.valid_from <= now()
             AND (ra.valid_until IS NULL OR ra.valid_until > now()) ORDER BY u.full_name""",
            entity_id,
        )
    ]
