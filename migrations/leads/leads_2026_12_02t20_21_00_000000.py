"""An agent's own list reads their leads newest first straight off an index."""

from crm.migration_sql import sql_migration

ID = "2026-12-02T20:21:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "leads: owner and id, for an agent's list"

SQL = """
CREATE INDEX lead_owner_recent ON lead (owner_id, id);
"""

forwards = sql_migration(ID, "leads", DESCRIPTION, SQL)
