"""The operator's side of background work: the automation-run log and the dead letters, retried or
discarded."""

from __future__ import annotations

import json
from dataclasses import dataclass

from crm.core.audit.service import record_audit
from crm.core.audit.tags import SystemTag
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import Conflict, ValidationFailed
from crm.core.inputs import parse_int
from crm.core.permissions import Permission
from crm.core.scope import group_level, in_group_scope

PAGE = 100


@dataclass
class RunFilter:
    automation: str = ""
    outcome: str = ""
    subject_id: str = ""
    case_id: str = ""
    before_id: int | None = None

    @classmethod
    def from_params(cls, params: dict[str, str]) -> RunFilter:
        return cls(
            automation=(params.get("automation") or "")[:80],
            outcome=(params.get("outcome") or "")[:20],
            subject_id=(params.get("subject_id") or "")[:64],
            case_id=(params.get("case_id") or "")[:32],
            before_id=parse_int(params.get("before_id")),
        )


def _scope(actor: Actor, permission: Permission, column: str) -> tuple[str, list]:
    """Rows of the actor's entities; rows with no entity only for staff holding the permission everywhere."""
    return (
        f"({column} = ANY($1::int[]) OR ({column} IS NULL AND $2))",
        [actor.entities_with(permission) or [-1], False],
    )


async def search_runs(actor: Actor, f: RunFilter) -> tuple[list[dict], int | None]:
    """Automation runs, newest first, in pages of 100."""
    clause, args = _scope(actor, Permission.SYSTEM_AUTOMATION_VIEW, "entity_id")
    args[1] = await group_level(actor, Permission.SYSTEM_AUTOMATION_VIEW)
    where = [clause]
    for column, value in (
        ("automation", f.automation),
        ("outcome", f.outcome),
        ("subject_id", f.subject_id),
        ("case_id", f.case_id),
    ):
        if value:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    if f.before_id is not None:
        args.append(f.before_id)
        where.append(f"id < ${len(args)}")
    rows = [
        dict(r)
        for r in await fetch(
            f"SELECT * FROM automation_run WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT {PAGE + 1}",  # noqa: S608
            *args,
        )
    ]
    for row in rows:
        for name in ("input", "output"):
            row[name] = json.loads(row[name]) if isinstance(row[name], str) else row[name]
    await _mark_openable_cases(actor, rows)
    return rows[:PAGE], rows[PAGE - 1]["id"] if len(rows) > PAGE else None


async def _mark_openable_cases(actor: Actor, rows: list[dict]) -> None:
    """`case_openable` on each run: whether the viewer may open its case (a link only where it answers)."""
    references = sorted({r["case_id"] for r in rows if r.get("case_id")})
    entities = (
        {
            c["reference"]: c["entity_id"]
            for c in await fetch(
                "SELECT reference, entity_id FROM work_case WHERE reference = ANY($1::text[])", references
            )
        }
        if references
        else {}
    )
    for row in rows:
        entity = entities.get(row.get("case_id"))
        row["case_openable"] = entity is not None and actor.can(Permission.CASES_CASE_VIEW, entity)


_DEAD = """
SELECT d.id, d.subscriber, d.attempts, d.last_error, d.next_attempt_at, e.id AS event_id, e.name, e.entity_id,
       e.subject_type, e.subject_id, e.payload, e.occurred_at
FROM event_delivery d JOIN domain_event e ON e.id = d.event
WHERE d.status = 'dead' AND {scope}
ORDER BY d.id DESC LIMIT 200
"""


async def dead_letters(actor: Actor) -> list[dict]:
    clause, args = _scope(actor, Permission.SYSTEM_JOBS_MANAGE, "e.entity_id")
    args[1] = await group_level(actor, Permission.SYSTEM_JOBS_MANAGE)
    return [dict(r) for r in await fetch(_DEAD.format(scope=clause), *args)]


async def _locked_dead(actor: Actor, delivery_id: int) -> dict:
    row = await current_connection().fetchrow(
        "SELECT d.*, e.entity_id, e.name FROM event_delivery d JOIN domain_event e ON e.id = d.event "
        "WHERE d.id = $1 FOR UPDATE OF d",
        delivery_id,
    )
    row = await in_group_scope(actor, Permission.SYSTEM_JOBS_MANAGE, row, "Dead letter")
    if row["status"] != "dead":
        raise Conflict(f"This delivery is {row['status']}, not dead")
    return dict(row)


async def retry_dead_letter(actor: Actor, delivery_id: int, reason: str) -> None:
    """Put a dead delivery back in the queue with a fresh set of attempts."""
    await _decide(actor, delivery_id, reason, "retry")


async def discard_dead_letter(actor: Actor, delivery_id: int, reason: str) -> None:
    """Give up on a dead delivery, for good and on the record."""
    await _decide(actor, delivery_id, reason, "discard")


async def _decide(actor: Actor, delivery_id: int, reason: str, decision: str) -> None:
    if not reason.strip():
        raise ValidationFailed("A reason is required", field_errors={"reason": "Say why."})
    async with transaction():
        row = await _locked_dead(actor, delivery_id)
        if decision == "retry":
            await current_connection().execute(
                "UPDATE event_delivery SET status = 'pending', attempts = 0, next_attempt_at = now() WHERE "
                "id = $1",
                delivery_id,
            )
            await current_connection().execute("SELECT pg_notify('crm_events', $1)", str(row["event"]))
        else:
            await current_connection().execute(
                "UPDATE event_delivery SET status = 'discarded' WHERE id = $1", delivery_id
            )
        await record_audit(
            actor,
            SystemTag.DELIVERY_RETRY if decision == "retry" else SystemTag.DELIVERY_DISCARD,
            target_type="event_delivery",
            target_id=delivery_id,
            target_label=f"{row['subscriber']} on {row['name']}",
            entity_id=row["entity_id"],
            before={"status": "dead", "attempts": row["attempts"], "last_error": row["last_error"]},
            after={"status": "pending" if decision == "retry" else "discarded"},
            reason=reason,
        )


_DEAD_JOBS = """
SELECT * FROM dead_job WHERE status = 'dead' AND {scope} ORDER BY id DESC LIMIT 200
"""


async def dead_jobs(actor: Actor) -> list[dict]:
    """Background jobs that failed every attempt, newest first."""
    clause, args = _scope(actor, Permission.SYSTEM_JOBS_MANAGE, "entity_id")
    args[1] = await group_level(actor, Permission.SYSTEM_JOBS_MANAGE)
    rows = [dict(r) for r in await fetch(_DEAD_JOBS.format(scope=clause), *args)]
    for row in rows:
        row["kwargs"] = json.loads(row["kwargs"]) if isinstance(row["kwargs"], str) else row["kwargs"]
    return rows


async def decide_dead_job(actor: Actor, dead_id: int, reason: str, decision: str) -> None:
    """Run a dead job again (as a new job with the same arguments) or discard it; audited either way."""
    from crm.core.jobs import enqueue

    if not reason.strip():
        raise ValidationFailed("A reason is required", field_errors={"reason": "Say why."})
    if decision not in ("retry", "discard"):
        raise ValidationFailed("Retry or discard?")
    async with transaction():
        row = await in_group_scope(
            actor,
            Permission.SYSTEM_JOBS_MANAGE,
            await current_connection().fetchrow("SELECT * FROM dead_job WHERE id = $1 FOR UPDATE", dead_id),
            "Dead job",
        )
        if row["status"] != "dead":
            raise Conflict(f"This job is {row['status']}, not dead")
        meta = json.loads(row["meta"]) if isinstance(row["meta"], str) else row["meta"]
        kwargs = json.loads(row["kwargs"]) if isinstance(row["kwargs"], str) else row["kwargs"]
        status = "retried" if decision == "retry" else "discarded"
        if decision == "retry":
            await enqueue(
                actor,
                row["job_name"],
                entity_id=row["entity_id"],
                subject_type=meta.get("subject_type", ""),
                subject_id=meta.get("subject_id", ""),
                **kwargs,
            )
        await current_connection().execute("UPDATE dead_job SET status = $2 WHERE id = $1", dead_id, status)
        await record_audit(
            actor,
            SystemTag.JOB_RETRY if decision == "retry" else SystemTag.JOB_DISCARD,
            target_type="dead_job",
            target_id=dead_id,
            target_label=f"{row['job_name']} ({row['job_id']})",
            entity_id=row["entity_id"],
            before={"status": "dead", "attempts": row["attempts"], "last_error": row["last_error"]},
            after={"status": status},
            reason=reason,
        )
