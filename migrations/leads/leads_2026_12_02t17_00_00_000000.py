"""The global search finds leads by name prefix with an index range scan, whatever the size."""

from crm.migration_sql import sql_migration

ID = "2026-12-02T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "leads: name-prefix indexes for the global search "

SQL = """
CREATE INDEX lead_last_name_prefix ON lead (lower(last_name) text_pattern_ops);
CREATE INDEX lead_first_name_prefix ON lead (lower(first_name) text_pattern_ops);
"""

forwards = sql_migration(ID, "leads", DESCRIPTION, SQL)
