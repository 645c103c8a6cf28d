"""Inbound e-mails are stored once per Message-ID."""

from crm.migration_sql import sql_migration

ID = "2026-11-23T17:12:59:000000"
VERSION = "1.38.0"
DESCRIPTION = "leads: one inbound lead_email per Message-ID"

SQL = """
CREATE UNIQUE INDEX IF NOT EXISTS lead_email_inbound_once ON lead_email (message_id) WHERE direction = 'in';
"""


forwards = sql_migration(ID, "leads", DESCRIPTION, SQL)
