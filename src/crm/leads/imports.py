"""CSV import of leads as a background job with live progress and a per-row validation report.

1. **Validate**: every row is normalised like any other intake; problems are listed per row and field.
2. **Import**: the valid rows are written in one transaction (COPY), with their scores, timeline entries and
   duplicate candidates, so an import is never half done; a job restarted after a crash finds it committed
   or not.
3. **Route** (if asked): each imported lead is routed in its own transaction, like a lead from the API; a
   restart carries on with the leads not yet routed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import os
import time

from crm.core.audit.service import record_audit
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import ValidationFailed
from crm.core.events.service import emit
from crm.core.files.service import load, store
from crm.core.jobs import JobRun, enqueue, job, job_id_for
from crm.core.permissions import Permission
from crm.core.scope import in_scope
from crm.leads import rules
from crm.leads.context import activity_sql, entities_by_rules
from crm.leads.csv_rows import ROW_PROBLEM, parse
from crm.leads.duplicate_evidence import DUPLICATE_WEIGHTS, MAX_FOUND, score_sql
from crm.leads.normalise import clean
from crm.leads.tags import LeadsTag


async def start(actor: Actor, entity_id: int | None, filename: str, content: bytes, *, route: bool) -> int:
    if entity_id is None or not actor.can(Permission.LEADS_ROUTING_MANAGE, entity_id):
        raise ValidationFailed(
            "Choose an entity you manage", field_errors={"entity": "Choose an entity you manage."}
        )
    if not filename.lower().endswith(".csv"):
        raise ValidationFailed(
            "Upload a .csv file", field_errors={"file": "A CSV file (UTF-8, comma-separated, header row)."}
        )
    async with transaction():
        info = await store(filename, content, entity_id=entity_id, uploaded_by_id=actor.user_id)
        conn = current_connection()
        import_id = await conn.fetchval(
            "INSERT INTO lead_import (entity_id, filename, file_id, status, total_rows, valid_rows, "
            "invalid_rows, imported, "
            "routed, errors, job_id, created_by_id, created_at) VALUES ($1, $2, $3, 'queued', 0, 0, 0, 0, 0, "
            "'[]', '', $4, now()) "
            "RETURNING id",
            entity_id,
            info.filename,
            info.id,
            actor.user_id,
        )
        event_id = await enqueue(
            actor,
            "leads.import_csv",
            entity_id=entity_id,
            subject_type="lead_import",
            subject_id=import_id,
            import_id=import_id,
            route=route,
        )
        await conn.execute(
            "UPDATE lead_import SET job_id = $2 WHERE id = $1", import_id, job_id_for(event_id)
        )
        await record_audit(
            actor,
            LeadsTag.IMPORT_START,
            target_type="lead_import",
            target_id=import_id,
            target_label=info.filename,
            entity_id=entity_id,
            after={"sha256": info.sha256, "size": info.size, "route": route},
        )
    return import_id


async def get(actor: Actor, import_id: int) -> dict:
    rows = await fetch(
        "SELECT i.*, u.full_name AS by_name FROM lead_import i LEFT JOIN staff_user u ON u.id = "
        "i.created_by_id "
        "WHERE i.id = $1",
        import_id,
    )
    row = in_scope(actor, Permission.LEADS_ROUTING_MANAGE, rows[0] if rows else None, "Import")
    row["errors"] = json.loads(row["errors"]) if isinstance(row["errors"], str) else row["errors"]
    return row


async def recent(actor: Actor) -> list[dict]:
    return [
        dict(r)
        for r in await fetch(
            "SELECT i.id, i.filename, i.status, i.total_rows, i.valid_rows, i.invalid_rows, i.imported, "
            "i.routed, i.created_at, "
            "e.code AS entity_code FROM lead_import i JOIN legal_entity e ON e.id = i.entity_id "
            "WHERE i.entity_id = ANY($1::int[]) ORDER BY i.id DESC LIMIT 50",
            actor.entities_with(Permission.LEADS_ROUTING_MANAGE) or [-1],
        )
    ]


_TIMELINE = activity_sql(
    lead="id",
    kind="'intake'",
    author_id="NULL::int",
    author_label="$2::text",
    body="$3::text",
    data="jsonb_build_object('channel', 'csv', 'import_id', $1::int)",
    source="FROM lead WHERE import_id = $1",
)

# Duplicates by e-mail or phone (one row per pair, likelihood combined as at intake: duplicate_evidence.py),
# found per imported lead with index lookups (LATERAL): right after a bulk load the planner's statistics are
# stale, and a plain join could pick a quadratic plan.
_DUPLICATES = f"""
INSERT INTO lead_duplicate (lead, other, score, reasons, status, created_at)
SELECT l.id, m.other, {score_sql("m.weight")}, jsonb_agg(m.reason ORDER BY m.reason), 'open', now()
FROM lead l CROSS JOIN LATERAL (
    (SELECT o.id AS other, 'email' AS reason, {DUPLICATE_WEIGHTS["email"]} AS weight FROM lead o
     WHERE l.email_key <> '' AND o.email_key = l.email_key AND o.id < l.id AND o.merged_into_id IS NULL
     ORDER BY o.id DESC LIMIT {MAX_FOUND})
    UNION ALL
    (SELECT o.id, 'phone', {DUPLICATE_WEIGHTS["phone"]} FROM lead o
     WHERE l.phone <> '' AND o.phone = l.phone AND o.id < l.id AND o.merged_into_id IS NULL
     ORDER BY o.id DESC LIMIT {MAX_FOUND})) m
WHERE l.import_id = $1
GROUP BY l.id, m.other
"""  # noqa: S608 (constants of duplicate_evidence.py)


_COLUMNS = [
    "entity_id",
    "brand",
    "first_name",
    "last_name",
    "email",
    "email_key",
    "phone",
    "country",
    "language",
    "date_of_birth",
    "source",
    "campaign",
    "utm",
    "ib_code",
    "device_id",
    "ip",
    "channel",
    "external_id",
    "status",
    "lost_reason",
    "score",
    "score_detail",
    "signals",
    "vip",
    "import_id",
    "created_at",
    "updated_at",
]


async def _set(import_id: int, **fields) -> None:
    sets = ", ".join(
        f"{k} = ${n}" + ("::jsonb" if k == "errors" else "") for n, k in enumerate(fields, start=2)
    )
    values = [json.dumps(v) if k == "errors" else v for k, v in fields.items()]
    async with transaction():
        await current_connection().execute(f"UPDATE lead_import SET {sets} WHERE id = $1", import_id, *values)  # noqa: S608


async def _stopped(kwargs: dict, error: str) -> None:
    """The import job's last attempt failed: the import says so and stops (nothing stays "importing")."""
    message = f"The import stopped on an error and will not continue: {error[:300]}"
    async with transaction():
        await current_connection().execute(
            """UPDATE lead_import SET status = 'failed', finished_at = now(),
                 errors = errors || jsonb_build_array(jsonb_build_object('row', 0, 'field', 'file',
                 'message', $2::text))
               WHERE id = $1 AND status NOT IN ('done', 'failed')""",
            kwargs.get("import_id"),
            message,
        )


@job("leads.import_csv", max_attempts=3, timeout_s=3600, on_dead=_stopped, label="Lead import from CSV")
async def import_csv(run: JobRun, import_id: int, route: bool = True) -> dict:
    rows = await fetch("SELECT * FROM lead_import WHERE id = $1", import_id)
    if not rows:
        return {"skipped": "gone"}
    imp = dict(rows[0])
    clock = time.perf_counter()
    if imp["status"] in ("queued", "validating", "importing"):
        await _validate_and_import(run, imp)
    imp = dict((await fetch("SELECT * FROM lead_import WHERE id = $1", import_id))[0])
    if imp["status"] == "routing" and route:
        await _route_all(run, imp)
    elif imp["status"] == "routing":
        await _set(import_id, status="done", finished_at=dt.datetime.now(dt.UTC))
    final = dict((await fetch("SELECT * FROM lead_import WHERE id = $1", import_id))[0])
    await run.progress(1, 1, final["status"], force=True)
    return {
        "import_id": import_id,
        "status": final["status"],
        "imported": final["imported"],
        "routed": final["routed"],
        "invalid": final["invalid_rows"],
        "seconds": round(time.perf_counter() - clock, 2),
    }


async def _validate_and_import(run: JobRun, imp: dict) -> None:
    import_id = imp["id"]
    await _set(import_id, status="validating")
    stored = await load(imp["file_id"])
    raw_rows, problems = parse(bytes(stored["content"]))
    if not raw_rows and problems:
        await _set(import_id, status="failed", errors=problems, finished_at=dt.datetime.now(dt.UTC))
        return
    total = len(raw_rows)
    await _set(import_id, total_rows=total)
    valid, errors = [], list(problems)
    for n, raw in enumerate(raw_rows, start=2):  # row 1 is the header
        if ROW_PROBLEM in raw:
            errors.append({"row": n, "field": "row", "message": raw[ROW_PROBLEM]})
            continue
        lead, row_errors = clean(raw)
        if row_errors:
            errors += [{"row": n, "field": f, "message": m} for f, m in row_errors.items()]
        else:
            valid.append(lead)
        if n % 2000 == 0:
            await run.progress(n - 1, total, "validating")
    await run.progress(total, total, "validating", force=True)
    invalid = len({e["row"] for e in errors if e["row"] > 1})
    await _set(
        import_id, status="importing", valid_rows=len(valid), invalid_rows=invalid, errors=errors[:5000]
    )

    scoring = await fetch(
        "SELECT rules FROM lead_rule_set WHERE kind = 'scoring' AND entity_id = $1 AND status = 'published' "
        "ORDER BY version DESC LIMIT 1",
        imp["entity_id"],
    )
    score_rules = (
        json.loads(scoring[0]["rules"])
        if scoring and isinstance(scoring[0]["rules"], str)
        else (scoring[0]["rules"] if scoring else {})
    ).get("rules", [])
    codes = {r["code"] for r in await fetch("SELECT code FROM referral_code WHERE active")}
    entity_of = await entities_by_rules(((lead.brand, lead.country) for lead in valid), imp["entity_id"])
    entity_codes = {r["id"]: r["code"] for r in await fetch("SELECT id, code FROM legal_entity")}
    now = dt.datetime.now(dt.UTC)
    records = []
    for lead in valid:
        entity_id = entity_of[(lead.brand, lead.country)]
        facts = rules.Facts(
            country=lead.country,
            language=lead.language,
            source=lead.source or "import",
            campaign=lead.campaign,
            brand=lead.brand,
            utm_medium=lead.utm.get("utm_medium", ""),
            entity_code=entity_codes.get(entity_id, ""),
            form_complete=lead.form_complete,
            has_phone=bool(lead.phone),
            has_email=bool(lead.email),
            ib_referred=lead.ib_code in codes,
        )
        score, parts = rules.score(score_rules, facts)
        records.append(
            (
                entity_id,
                lead.brand,
                lead.first_name,
                lead.last_name,
                lead.email,
                lead.email_key,
                lead.phone,
                lead.country,
                lead.language,
                lead.date_of_birth,
                lead.source or "import",
                lead.campaign,
                json.dumps(lead.utm),
                lead.ib_code,
                lead.device_id,
                "",
                "csv",
                lead.external_id,
                "new",
                "",
                score,
                json.dumps([dataclasses.asdict(p) for p in parts]),
                "{}",
                False,
                import_id,
                now,
                now,
            )
        )
    async with transaction():
        conn = current_connection()
        locked = await conn.fetchrow("SELECT status FROM lead_import WHERE id = $1 FOR UPDATE", import_id)
        if locked["status"] != "importing":  # another run got here first
            return
        await conn.copy_records_to_table("lead", records=records, columns=_COLUMNS)
        await conn.execute(
            "UPDATE lead SET reference = 'LD-' || lpad(id::text, 6, '0') WHERE import_id = $1", import_id
        )
        await conn.execute(_TIMELINE, import_id, run.actor.label, f"Imported from {imp['filename']}")
        await conn.execute(_DUPLICATES, import_id)
        await conn.execute(
            "UPDATE lead_import SET status = 'routing', imported = $2 WHERE id = $1", import_id, len(records)
        )
        await record_audit(
            run.actor,
            LeadsTag.IMPORT_COMMIT,
            target_type="lead_import",
            target_id=import_id,
            target_label=imp["filename"],
            entity_id=imp["entity_id"],
            after={"imported": len(records), "invalid_rows": invalid, "total_rows": total},
        )
        await emit(
            run.actor,
            "leads.imported",
            entity_id=imp["entity_id"],
            subject_type="lead_import",
            subject_id=import_id,
            payload={"import_id": import_id, "imported": len(records)},
        )
    await run.progress(total, total, "imported", force=True)


ROUTING_LANES = (
    4  # leads routed at once by one import (CRM_IMPORT_ROUTING_LANES); each in its own transaction
)


async def _route_all(run: JobRun, imp: dict) -> None:
    """Route every imported lead not routed yet, each in its own transaction, several at once (a retry
    continues with the unrouted ones; a lead another run holds is skipped, not waited for)."""
    import_id = imp["id"]
    total = imp["imported"]
    done = (
        total
        - (
            await fetch(
                "SELECT count(*) AS n FROM lead WHERE import_id = $1 AND routed_at IS NULL", import_id
            )
        )[0]["n"]
    )
    lanes = max(1, int(os.environ.get("CRM_IMPORT_ROUTING_LANES", ROUTING_LANES)))
    while True:
        batch = await fetch(
            "SELECT id FROM lead WHERE import_id = $1 AND routed_at IS NULL ORDER BY id LIMIT 500", import_id
        )
        if not batch:
            break
        queue = iter([row["id"] for row in batch])  # shared: each lead is taken by one lane

        async def lane(queue=queue) -> None:
            nonlocal done
            for lead_id in queue:
                if await _route_one(run.actor, lead_id):
                    done += 1
                    await run.progress(done, total, "routing")

        await asyncio.gather(*(lane() for _ in range(lanes)))
        await _set(import_id, routed=done)
    await _set(import_id, status="done", routed=done, finished_at=dt.datetime.now(dt.UTC))


async def _route_one(actor: Actor, lead_id: int) -> bool:
    from crm.leads.assignment import route_lead

    async with transaction():
        locked = await current_connection().fetchrow(
            "SELECT * FROM lead WHERE id = $1 AND routed_at IS NULL FOR UPDATE SKIP LOCKED", lead_id
        )
        if locked is None:
            return False
        await route_lead(actor, dict(locked), trigger="import")
    return True
