"""One name per list per person for saved views."""

from crm.migration_sql import sql_migration

ID = "2026-12-03T10:50:47:000000"
VERSION = "1.38.0"
DESCRIPTION = "identity: saved view names unique per person and list"

SQL = """
CREATE UNIQUE INDEX saved_view_name ON saved_view ("user", list_key, lower(name));
"""

forwards = sql_migration(ID, "identity", DESCRIPTION, SQL)
