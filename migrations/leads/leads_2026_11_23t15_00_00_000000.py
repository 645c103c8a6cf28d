"""Indexed lookups for returning clients (by e-mail and phone)."""

from crm.migration_sql import sql_migration

ID = "2026-11-23T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "leads: client e-mail and phone indexes for the returning-client lookup"

SQL = """
CREATE INDEX IF NOT EXISTS client_email_lower ON client (lower(email));
CREATE INDEX IF NOT EXISTS client_phone ON client (phone) WHERE phone <> '';
"""


forwards = sql_migration(ID, "leads", DESCRIPTION, SQL)
