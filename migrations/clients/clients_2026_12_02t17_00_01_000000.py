"""The global search finds clients by name prefix, exact e-mail or phone with index scans."""

from crm.migration_sql import sql_migration

ID = "2026-12-02T17:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "clients: search indexes (name prefixes, e-mail, phone)"

SQL = """
CREATE INDEX client_last_name_prefix ON client (lower(last_name) text_pattern_ops);
CREATE INDEX client_first_name_prefix ON client (lower(first_name) text_pattern_ops);
CREATE INDEX client_email_lower ON client (lower(email));
CREATE INDEX client_phone ON client (phone) WHERE phone <> '';
"""

forwards = sql_migration(ID, "clients", DESCRIPTION, SQL)
