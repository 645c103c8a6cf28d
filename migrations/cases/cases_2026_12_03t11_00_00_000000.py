"""Case lists sort by priority, SLA due time or age and page by keyset (column, id): each order has its index,
so a page deep in a million cases costs what the first one does. Priority ties break on the id (the age)."""

from crm.migration_sql import sql_migration

ID = "2026-12-03T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "cases: keyset indexes for the sortable lists"

SQL = """
DROP INDEX IF EXISTS work_case_order;
DROP INDEX IF EXISTS work_case_assignee_order;
DROP INDEX IF EXISTS work_case_queue_order;
CREATE INDEX work_case_order ON work_case (priority, id);
CREATE INDEX work_case_assignee_order ON work_case (assignee_id, priority, id);
CREATE INDEX work_case_queue_order ON work_case (queue_id, priority, id);
CREATE INDEX work_case_due_order ON work_case ((coalesce(sla_due_at, '9999-12-31'::timestamptz)), id);
"""

forwards = sql_migration(ID, "cases", DESCRIPTION, SQL)
