"""Opening cases and moving them between people: assignment, take-next, hand-over, SLA escalation (working a
case once it is open, notes and status, is in work.py).

Every change writes a timeline entry, an audit row naming the case, and a domain event (`case.created`,
`case.assigned`, `case.updated`, `case.resolved`, `case.escalated`) that live queues and notifications use.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from crm.core.audit.chain import normalise
from crm.core.audit.service import record_audit
from crm.core.audit.tags import CasesTag
from crm.core.cases.kinds import case_kind
from crm.core.cases.tables import (
    OPEN_STATUSES,
    PRIORITIES,
    CaseStatus,
    WorkCase,
)
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import Conflict, PermissionDenied, ValidationFailed
from crm.core.events.service import emit, notify_sql, outbox_sql, subscribers_of
from crm.core.org.grants import grants_for
from crm.core.permissions import Permission
from crm.core.scope import in_scope


def reference_for(case_id: int) -> str:
    return f"CASE-{case_id:06d}"


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def add_entry(case: dict, actor: Actor, kind: str, body: str = "", data: dict | None = None) -> None:
    await current_connection().execute(
        'INSERT INTO case_entry ("case", kind, author_id, author_label, body, data, created_at) '
        "VALUES ($1, $2, $3, $4, $5, $6::jsonb, now())",
        case["id"],
        kind,
        actor.user_id,
        actor.label,
        body,
        json.dumps(normalise(data or {})),
    )


# One round trip: the case (its reference from its id, refused if the queue is another entity's), its
# subjects, the "opened" timeline entry and the `case.created` event with its deliveries (the outbox's own
# fragment).
_OPEN = f"""
WITH id AS (SELECT nextval(pg_get_serial_sequence('work_case', 'id')) AS id),
opened AS (
    INSERT INTO work_case (id, reference, kind, title, entity_id, priority, queue_id, status, assignee_id,
        sla_due_at,
                           escalated_at, created_by_id, created_at, updated_at, resolution, resolved_at)
    SELECT id.id, 'CASE-' || lpad(id.id::text, 6, '0'), $1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, now(),
        now(), '', NULL
    FROM id WHERE $5::int IS NULL OR EXISTS (SELECT 1 FROM team WHERE team.id = $5 AND team.entity = $3)
    RETURNING *
), subjects AS (
    INSERT INTO case_subject ("case", subject_type, subject_id, label)
    SELECT opened.id, s.subject_type, s.subject_id, s.label
    FROM opened, unnest($10::text[], $11::text[], $12::text[]) AS s(subject_type, subject_id, label)
), entry AS (
    INSERT INTO case_entry ("case", kind, author_id, author_label, body, data, created_at)
    SELECT opened.id, 'opened', $9, $13, $14, $15::jsonb, now() FROM opened
), {
    outbox_sql(
        "event",
        name="'case.created'",
        entity="opened.entity_id",
        subject_type="'case'",
        subject_id="opened.reference",
        actor="$9::int",
        targets="$16",
        source="FROM opened",
        payload="jsonb_build_object('case_id', opened.id, 'reference', opened.reference, 'queue_id', "
        "opened.queue_id, 'assignee_id', opened.assignee_id, 'status', opened.status)",
    )
}
SELECT opened.*, {notify_sql("event", "$16")} IS NULL AS quiet FROM opened
"""  # noqa: S608 (SQL fragments of the owning modules)


async def case_event(actor: Actor, name: str, case: dict, **payload) -> None:
    await emit(
        actor,
        name,
        entity_id=case["entity_id"],
        subject_type="case",
        subject_id=case["reference"],
        payload={
            "case_id": case["id"],
            "reference": case["reference"],
            "queue_id": case["queue_id"],
            "assignee_id": case["assignee_id"],
            "status": case["status"],
            **payload,
        },
    )


async def _default_queue(kind_team: str | None, entity_id: int) -> int | None:
    if kind_team is None:
        return None
    rows = await fetch(
        "SELECT id FROM team WHERE entity = $1 AND kind = $2 AND active ORDER BY id LIMIT 1",
        entity_id,
        kind_team,
    )
    return rows[0]["id"] if rows else None


async def open_case(
    actor: Actor,
    kind: str,
    *,
    entity_id: int,
    title: str,
    subjects: Iterable[tuple[str, str, str]] = (),
    priority: int | None = None,
    queue_id: int | None = None,
    sla: dt.timedelta | None = None,
    body: str = "",
    assignee_id: int | None = None,
    audited_by_caller: bool = False,
) -> dict:
    """Open a case in the caller's transaction (areas and jobs call this; staff use the form), optionally
    already assigned (the caller has checked that the assignee may work it). `audited_by_caller=True` when the
    caller's own audit row of the same transaction names the case (its `case_id`), so the chain gets one row,
    not two."""
    spec = case_kind(kind)
    if not actor.is_system and not actor.can(Permission.CASES_CASE_WORK, entity_id):
        raise PermissionDenied("You cannot open cases in this entity")
    title = title.strip()
    if not 3 <= len(title) <= 300:
        raise ValidationFailed("Give the case a title", field_errors={"title": "3 to 300 characters."})
    priority = priority or spec.default_priority
    if priority not in PRIORITIES:
        raise ValidationFailed("Unknown priority", field_errors={"priority": "Choose a priority."})
    queue_id = queue_id or await _default_queue(spec.queue_team_kind, entity_id)
    subjects = [(t, str(i), label[:200]) for t, i, label in subjects]
    row = await current_connection().fetchrow(
        _OPEN,
        kind,
        title,
        entity_id,
        priority,
        queue_id,
        CaseStatus.IN_PROGRESS if assignee_id else CaseStatus.OPEN,
        assignee_id,
        now_utc() + (sla or spec.sla),
        actor.user_id,
        [s[0] for s in subjects],
        [s[1] for s in subjects],
        [s[2] for s in subjects],
        actor.label,
        body,
        json.dumps({"priority": priority, "queue_id": queue_id}),
        subscribers_of("case.created"),
    )
    if row is None:  # the statement refuses a queue of another entity
        raise ValidationFailed(
            "That queue belongs to another entity", field_errors={"queue": "Choose a team of this entity."}
        )
    case = dict(row)
    case.pop("quiet")
    reference = case["reference"]
    if audited_by_caller:
        return case
    await record_audit(
        actor,
        CasesTag.CASE_OPEN,
        target_type="case",
        target_id=reference,
        target_label=title,
        entity_id=entity_id,
        after={
            "kind": kind,
            "priority": priority,
            "queue_id": queue_id,
            "assignee_id": assignee_id,
            "subjects": subjects,
        },
        case_id=reference,
    )
    return case


async def create_case(
    actor: Actor,
    *,
    kind: str,
    entity_id: int | None,
    title: str,
    priority: int | None = None,
    queue_id: int | None = None,
    body: str = "",
) -> dict:
    """A case a member of staff opens from the form, in its own transaction."""
    if entity_id is None:
        raise ValidationFailed("Choose an entity", field_errors={"entity": "Choose an entity."})
    async with transaction():
        return await open_case(
            actor, kind, entity_id=entity_id, title=title, priority=priority, queue_id=queue_id, body=body
        )


async def locked_case(
    actor: Actor, reference: str, permission: Permission = Permission.CASES_CASE_WORK
) -> dict:
    rows = await WorkCase.raw("SELECT * FROM work_case WHERE reference = {} FOR UPDATE", reference)
    in_scope(actor, Permission.CASES_CASE_VIEW, rows[0] if rows else None, "Case")
    if not actor.can(permission, rows[0]["entity_id"]):
        raise PermissionDenied("You cannot work cases in this entity")
    return rows[0]


async def _may_work(user_id: int, entity_id: int) -> bool:
    return Permission.CASES_CASE_WORK in (await grants_for(user_id)).get(entity_id, frozenset())


async def assign(actor: Actor, reference: str, assignee_id: int | None, reason: str = "") -> dict:
    """Give the case to someone who may work it in its entity (or back to the queue with None)."""
    async with transaction():
        case = await locked_case(actor, reference)
        if case["status"] not in OPEN_STATUSES:
            raise Conflict("This case is closed")
        if assignee_id is not None and not await _may_work(assignee_id, case["entity_id"]):
            raise ValidationFailed(
                "That person cannot work cases in this entity",
                field_errors={"assignee": "Choose someone else."},
            )
        status = CaseStatus.IN_PROGRESS if assignee_id else CaseStatus.OPEN
        await WorkCase.update(
            {WorkCase.assignee_id: assignee_id, WorkCase.status: status, WorkCase.updated_at: now_utc()}
        ).where(WorkCase.id == case["id"])
        before = {"assignee_id": case["assignee_id"], "status": case["status"]}
        case |= {"assignee_id": assignee_id, "status": status}
        await add_entry(case, actor, "assignment", reason, {"from": before["assignee_id"], "to": assignee_id})
        await record_audit(
            actor,
            CasesTag.CASE_ASSIGN,
            target_type="case",
            target_id=reference,
            entity_id=case["entity_id"],
            before=before,
            after={"assignee_id": assignee_id, "status": status},
            reason=reason or None,
            case_id=reference,
        )
        await case_event(actor, "case.assigned", case)
    return case


_HAND_OVER = """
UPDATE work_case c SET assignee_id = $2, status = $3, sla_due_at = $4, queue_id = coalesce($5, c.queue_id),
    updated_at = now()
FROM (SELECT id, assignee_id FROM work_case WHERE id = $1) before
WHERE c.id = before.id
RETURNING c.*, before.assignee_id AS previous_assignee_id
"""


async def hand_over(
    actor: Actor,
    case_id: int,
    *,
    assignee_id: int | None,
    sla_due_at: dt.datetime,
    queue_id: int | None,
    reason: str,
) -> dict:
    """An area moves its own case to someone else (or back to the queue) with a new SLA, in the caller's
    transaction and without the actor's case permissions (e.g. a lead re-routed on an SLA breach): the same
    timeline entry, audit row and `case.assigned` event as `assign`."""
    status = CaseStatus.IN_PROGRESS if assignee_id else CaseStatus.OPEN
    case = dict(
        await current_connection().fetchrow(_HAND_OVER, case_id, assignee_id, status, sla_due_at, queue_id)
    )
    previous = case.pop("previous_assignee_id")
    await add_entry(case, actor, "assignment", reason, {"from": previous, "to": assignee_id})
    await record_audit(
        actor,
        CasesTag.CASE_ASSIGN,
        target_type="case",
        target_id=case["reference"],
        entity_id=case["entity_id"],
        before={"assignee_id": previous},
        after={"assignee_id": assignee_id},
        reason=reason,
        case_id=case["reference"],
    )
    await case_event(actor, "case.assigned", case)
    return case


async def mark_escalated(case_id: int) -> None:
    """Stop the SLA sweep from picking the case up again (a kind's `on_breach` that handled it itself)."""
    await current_connection().execute("UPDATE work_case SET escalated_at = now() WHERE id = $1", case_id)


_TAKE_NEXT = """
UPDATE work_case SET assignee_id = $1, status = 'in_progress', updated_at = now()
WHERE id = (
    SELECT id FROM work_case
    WHERE queue_id = $2 AND status = 'open' AND assignee_id IS NULL AND entity_id = ANY($3::int[])
    ORDER BY priority, created_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING *
"""


async def take_next(actor: Actor, queue_id: int) -> dict | None:
    """Assign the oldest highest-priority open case of a queue to the actor; two people never get the same
    one."""
    entities = actor.entities_with(Permission.CASES_CASE_WORK)
    if not entities:
        raise PermissionDenied("You cannot work cases")
    async with transaction():
        row = await current_connection().fetchrow(_TAKE_NEXT, actor.user_id, queue_id, entities)
        if row is None:
            return None
        case = dict(row)
        await add_entry(
            case, actor, "assignment", "took it from the queue", {"from": None, "to": actor.user_id}
        )
        await record_audit(
            actor,
            CasesTag.CASE_TAKE,
            target_type="case",
            target_id=case["reference"],
            entity_id=case["entity_id"],
            after={"assignee_id": actor.user_id},
            case_id=case["reference"],
        )
        await case_event(actor, "case.assigned", case)
    return case
