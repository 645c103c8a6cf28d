"""The inbox's identity: one row per (provider, event id); a replay hits it and does nothing."""

from crm.migration_sql import sql_migration

ID = "2026-12-02T08:08:51:000000"
VERSION = "1.38.0"
DESCRIPTION = "inbox: unique (provider, event_id); list indexes"

SQL = """
CREATE UNIQUE INDEX webhook_event_identity ON webhook_event (provider, event_id);
CREATE INDEX webhook_event_entity ON webhook_event (entity_id, id);
"""

forwards = sql_migration(ID, "inbox", DESCRIPTION, SQL)
