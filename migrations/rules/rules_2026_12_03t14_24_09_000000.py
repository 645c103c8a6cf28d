"""One version number per kind and entity; at most one version in force and one draft or pending version."""

from crm.migration_sql import sql_migration

ID = "2026-12-03T14:24:09:000000"
VERSION = "1.38.0"
DESCRIPTION = "rules: version indexes"

SQL = """
CREATE UNIQUE INDEX rule_version_number ON rule_version (kind, entity_id, version);
CREATE UNIQUE INDEX rule_version_in_force ON rule_version (kind, entity_id) WHERE status = 'published';
CREATE UNIQUE INDEX rule_version_open ON rule_version (kind, entity_id) WHERE status IN ('draft', 'pending');
"""

forwards = sql_migration(ID, "rules", DESCRIPTION, SQL)
