"""Scoped reads of cases: lists with filters, queue summaries, and one case with its timeline."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from crm.core.audit.queries import rows_for_case
from crm.core.cases.tables import CaseEntry, CaseSubject, WorkCase
from crm.core.context import Actor
from crm.core.db import fetch
from crm.core.errors import NotFound
from crm.core.inputs import parse_int
from crm.core.listing import Column, Listing, Sort
from crm.core.permissions import Permission
from crm.core.scope import in_scope

PAGE = 100

_LIST = """
SELECT c.*, t.name AS queue_name, u.full_name AS assignee_name, e.code AS entity_code,
       coalesce(c.sla_due_at, '9999-12-31'::timestamptz) AS sort_due,
       (c.sla_due_at <= now() AND c.status IN ('open', 'in_progress', 'waiting')) AS overdue
FROM work_case c
LEFT JOIN team t ON t.id = c.queue_id
LEFT JOIN staff_user u ON u.id = c.assignee_id
JOIN legal_entity e ON e.id = c.entity_id
WHERE {where}
ORDER BY {order}
LIMIT {limit}
"""


@dataclass
class CaseFilter:
    kind: str = ""
    status: str = "active"  # "active" = open, in progress or waiting; "" = any
    priority: int | None = None
    entity_id: int | None = None
    queue_id: int | None = None
    assignee_id: int | None = None
    overdue: bool = False
    sort: str = "priority"  # a key of LISTING's columns, "-" for descending
    after: str = ""  # the keyset cursor of the next page

    @classmethod
    def from_params(cls, params: dict[str, str]) -> CaseFilter:
        def number(name: str) -> int | None:
            return parse_int(params.get(name))

        return cls(
            kind=(params.get("kind") or "")[:60],
            status=params.get("status", "active")[:20],
            priority=number("priority"),
            entity_id=number("entity_id"),
            queue_id=number("queue_id"),
            assignee_id=number("assignee_id"),
            overdue=params.get("overdue") in ("1", "on", "true"),
            sort=(params.get("sort") or LISTING.default)[:20],
            after=(params.get("after") or "")[:200],
        )


def _where(actor: Actor, f: CaseFilter) -> tuple[str, list]:
    entities = actor.entities_with(Permission.CASES_CASE_VIEW)
    if f.entity_id is not None:
        entities = [e for e in entities if e == f.entity_id]
    where, args = ["c.entity_id = ANY($1::int[])"], [entities or [-1]]

    def add(clause: str, value) -> None:
        args.append(value)
        where.append(clause.replace("?", f"${len(args)}"))

    if f.kind:
        add("c.kind = ?", f.kind)
    if f.status == "active":
        where.append("c.status IN ('open', 'in_progress', 'waiting')")
    elif f.status:
        add("c.status = ?", f.status)
    if f.priority is not None:
        add("c.priority = ?", f.priority)
    if f.queue_id is not None:
        add("c.queue_id = ?", f.queue_id)
    if f.assignee_id is not None:
        add("c.assignee_id = ?", f.assignee_id)
    if f.overdue:
        where.append("c.sla_due_at <= now() AND c.status IN ('open', 'in_progress', 'waiting')")
    return " AND ".join(where), args


async def list_cases(actor: Actor, f: CaseFilter, *, limit: int = PAGE) -> list[dict]:
    """Cases in the entities where the actor may view cases, narrowed by the filter, in its order."""
    return (await list_page(actor, f, limit=limit))[0]


async def list_page(actor: Actor, f: CaseFilter, *, limit: int = PAGE) -> tuple[list[dict], str | None]:
    """A page of the filtered list in the filter's order, and the cursor of the next page (None on the
    last)."""
    where, args = _where(actor, f)
    sort = sort_of(f)
    after = LISTING.after_sql(sort, f.after, len(args) + 1)
    if after is not None:
        where, args = f"{where} AND {after[0]}", [*args, *after[1]]
    sql = _LIST.format(where=where, order=LISTING.order_sql(sort), limit=int(limit) + 1)
    rows = [dict(r) for r in await fetch(sql, *args)]
    return rows[:limit], (LISTING.cursor_of(sort, rows[limit - 1]) if len(rows) > limit else None)


# The sortable columns of the case lists: most urgent first by default (priority, then age).
LISTING = Listing(
    columns={
        "priority": Column("c.priority", "priority", int),
        "due": Column("coalesce(c.sla_due_at, '9999-12-31'::timestamptz)", "sort_due", dt.datetime),
        "opened": Column("c.id", "id", int, descending=True),
    },
    default="priority",
    id_sql="c.id",
)


def sort_of(f: CaseFilter, path: str = "", params: dict | None = None) -> Sort:
    return LISTING.sort({**(params or {}), "sort": f.sort}, path)


# Counters read at most COUNT_CAP rows each (an index range, whatever the size of the book): past it a list
# says "10,000+", which is what a person needs to know about a list that long.
COUNT_CAP = 10_000
_CAPPED = "(SELECT count(*) FROM (SELECT 1 FROM work_case c WHERE {where} AND {extra} LIMIT {cap}) x)"
_ACTIVE = "c.status IN ('open', 'in_progress', 'waiting')"


async def count_cases(actor: Actor, f: CaseFilter) -> dict:
    """Counters for a filtered list: how many match, wait for someone, are overdue, are high or critical
    (each up to COUNT_CAP + 1, shown as "10,000+")."""
    where, args = _where(actor, f)
    extras = {
        "total": "true",
        "unassigned": "c.assignee_id IS NULL AND c.status = 'open'",
        "overdue": f"c.sla_due_at <= now() AND {_ACTIVE}",
        "urgent": f"c.priority <= 2 AND {_ACTIVE}",
    }
    parts = ", ".join(
        _CAPPED.format(where=where, extra=extra, cap=COUNT_CAP + 1) + f" AS {name}"
        for name, extra in extras.items()
    )
    return dict((await fetch(f"SELECT {parts}", *args))[0])  # noqa: S608 (fixed fragments)


QUEUE_CAP = 1_000  # a queue's card says "1,000+" past this: each count reads at most this many rows


async def queues_for(actor: Actor) -> list[dict]:
    """The teams whose queues the actor may see, with open, unassigned and overdue counts (each capped at
    QUEUE_CAP: three counts per queue on every case page must stay cheap however full the queues are)."""
    entities = actor.entities_with(Permission.CASES_CASE_VIEW)
    rows = await fetch(
        f"""SELECT t.id, t.name, t.kind, e.code AS entity_code,
                  (SELECT count(*) FROM (SELECT 1 FROM work_case c WHERE c.queue_id = t.id
                      AND {_ACTIVE} LIMIT {QUEUE_CAP + 1}) x) AS active,
                  (SELECT count(*) FROM (SELECT 1 FROM work_case c WHERE c.queue_id = t.id
                      AND c.status = 'open' AND c.assignee_id IS NULL LIMIT {QUEUE_CAP + 1}) x) AS unassigned,
                  (SELECT count(*) FROM (SELECT 1 FROM work_case c WHERE c.queue_id = t.id
                      AND {_ACTIVE} AND c.sla_due_at <= now() LIMIT {QUEUE_CAP + 1}) x) AS overdue
           FROM team t JOIN legal_entity e ON e.id = t.entity
           WHERE t.entity = ANY($1::int[]) AND t.active
           ORDER BY e.code, t.name""",  # noqa: S608 (constants)
        entities or [-1],
    )
    return [dict(r) for r in rows]


async def queue(actor: Actor, queue_id: int) -> dict:
    for q in await queues_for(actor):
        if q["id"] == queue_id:
            return q
    raise NotFound("Queue")


async def get_case(actor: Actor, reference: str) -> dict:
    rows = await fetch(_LIST.format(where="c.reference = $1", order="c.id", limit=1), reference)
    return in_scope(actor, Permission.CASES_CASE_VIEW, rows[0] if rows else None, "Case")


async def case_detail(actor: Actor, reference: str) -> dict:
    """A case with its subjects, timeline and every audit row that names it."""
    case = await get_case(actor, reference)
    case["subjects"] = await CaseSubject.select().where(CaseSubject.case == case["id"])
    entries = await CaseEntry.select().where(CaseEntry.case == case["id"]).order_by(CaseEntry.id)
    for entry in entries:
        if isinstance(entry["data"], str):
            entry["data"] = json.loads(entry["data"])
    case["timeline"] = entries
    case["audit"] = await rows_for_case(actor, reference) if actor.can(Permission.AUDIT_RECORD_VIEW) else []
    case["can_work"] = actor.can(Permission.CASES_CASE_WORK, case["entity_id"])
    return case


async def cases_about(actor: Actor, subject_type: str, subject_id: str, limit: int = 20) -> list[dict]:
    """The cases naming a subject (a lead, a client) that the actor may open, newest first."""
    entities = actor.entities_with(Permission.CASES_CASE_VIEW)
    if not entities:
        return []
    rows = await fetch(
        """SELECT c.reference, c.kind, c.title, c.status, c.created_at FROM case_subject s
           JOIN work_case c ON c.id = s."case"
           WHERE s.subject_type = $1 AND s.subject_id = $2 AND c.entity_id = ANY($3::int[])
           ORDER BY c.id DESC LIMIT $4""",
        subject_type,
        str(subject_id),
        entities,
        limit,
    )
    return [dict(r) for r in rows]


async def count_my_open(actor: Actor) -> int:
    return await WorkCase.count().where(
        WorkCase.entity_id.is_in(actor.entities_with(Permission.CASES_CASE_VIEW) or [-1])
        & (WorkCase.assignee_id == actor.user_id)
        & WorkCase.status.is_in(["open", "in_progress", "waiting"])
    )


async def my_case_counts(actor: Actor) -> dict:
    """The actor's own active cases, and how many of them are past their SLA (for the home page)."""
    rows = await fetch(
        """SELECT count(*) AS active, count(*) FILTER (WHERE sla_due_at <= now()) AS overdue
           FROM work_case WHERE assignee_id = $1 AND entity_id = ANY($2::int[])
             AND status IN ('open', 'in_progress', 'waiting')""",
        actor.user_id,
        actor.entities_with(Permission.CASES_CASE_VIEW) or [-1],
    )
    return dict(rows[0])


async def workers_in(entity_id: int) -> list[dict]:
    """Active staff who may work cases in the entity now (the choices for assigning a case)."""
    rows = await fetch(
        """SELECT DISTINCT u.id, u.full_name FROM staff_user u
           JOIN role_assignment ra ON ra."user" = u.id JOIN role r ON r.id = ra.role
           WHERE ra.entity = $1 AND ra.status = 'active' AND u.active
               AND 'cases:case:work' = ANY(r.permissions)
             AND ra.valid_from <= now() AND (ra.valid_until IS NULL OR ra.valid_until > now())
           ORDER BY u.full_name""",
        entity_id,
    )
    return [dict(r) for r in rows]
