"""Webhook sources made before the signed-timestamp scheme keep the body signature their senders use."""

from crm.migration_sql import sql_migration

ID = "2026-12-02T08:04:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "leads: existing webhook sources keep the body-signature scheme"

SQL = "UPDATE lead_source SET signature_scheme = 'body' WHERE kind <> 'api';"

forwards = sql_migration(ID, "leads", DESCRIPTION, SQL)
