"""Case lists are read in their order (priority, then age) straight off an index, whichever of them: all
cases, one person's, one queue's; so the first page costs the same at a million cases as at a hundred."""

from crm.migration_sql import sql_migration

ID = "2026-12-02T20:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "cases: indexes in the lists' order"

SQL = """
CREATE INDEX work_case_order ON work_case (priority, created_at);
CREATE INDEX work_case_assignee_order ON work_case (assignee_id, priority, created_at);
CREATE INDEX work_case_queue_order ON work_case (queue_id, priority, created_at);
"""

forwards = sql_migration(ID, "cases", DESCRIPTION, SQL)
