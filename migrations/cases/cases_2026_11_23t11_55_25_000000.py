"""Indexes for take-next, queue counters and SLA sweeps; for the outbox's pending scan."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-23T11:55:25:000000"
VERSION = "1.38.0"
DESCRIPTION = "cases: take-next, queue and SLA indexes; events: pending deliveries index"

SQL = """
CREATE INDEX work_case_take_next ON work_case (queue_id, priority, created_at, id)
    WHERE status = 'open' AND assignee_id IS NULL;
CREATE INDEX work_case_active_entity ON work_case (entity_id, priority, created_at)
    WHERE status IN ('open', 'in_progress', 'waiting');
CREATE INDEX work_case_sla ON work_case (sla_due_at)
    WHERE escalated_at IS NULL AND status IN ('open', 'in_progress', 'waiting');
CREATE INDEX case_subject_lookup ON case_subject (subject_type, subject_id);
CREATE INDEX event_delivery_pending ON event_delivery (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX event_delivery_dead ON event_delivery (id) WHERE status = 'dead';
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="cases", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        tx = engine.current_transaction.get()
        if tx is not None:
            await tx.connection.execute(SQL)
        else:
            conn = await engine.get_new_connection()
            try:
                await conn.execute(SQL)
            finally:
                await conn.close()

    manager.add_raw(run)
    return manager
