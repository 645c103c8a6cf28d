"""Indexes for take-next, queue counters and SLA sweeps; for the outbox's pending scan."""

from crm.migration_sql import sql_migration

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


forwards = sql_migration(ID, "cases", DESCRIPTION, SQL)
