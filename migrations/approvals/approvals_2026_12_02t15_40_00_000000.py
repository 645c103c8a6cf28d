"""Segregation of duties beyond the maker: who a request benefits, and a role its policy excludes."""

from crm.migration_sql import sql_migration

ID = "2026-12-02T15:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "approvals: conflicted_ids and excluded_role on approval_request"

SQL = """
ALTER TABLE approval_request ADD COLUMN conflicted_ids integer[] NOT NULL DEFAULT '{}';
ALTER TABLE approval_request ADD COLUMN excluded_role varchar(60);
"""

forwards = sql_migration(ID, "approvals", DESCRIPTION, SQL)
