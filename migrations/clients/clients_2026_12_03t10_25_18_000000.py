"""Privacy notices: one version number per entity and at most one published version at a time; the seeded
compliance and super-admin roles gain the permission to manage them (roles admins made are left alone)."""

from crm.migration_sql import sql_migration

ID = "2026-12-03T10:25:18:000000"
VERSION = "1.38.0"
DESCRIPTION = "clients: privacy notice versions, one published per entity; notice permission"

SQL = """
CREATE UNIQUE INDEX privacy_notice_version ON privacy_notice (entity, version);
CREATE UNIQUE INDEX privacy_notice_published ON privacy_notice (entity) WHERE status = 'published';
CREATE UNIQUE INDEX brand_code_lower ON brand (lower(code));
UPDATE role SET permissions = array_append(permissions, 'clients:notice:manage')
 WHERE system AND slug IN ('compliance_officer', 'super_admin')
   AND NOT 'clients:notice:manage' = ANY(permissions);
"""

forwards = sql_migration(ID, "clients", DESCRIPTION, SQL)
