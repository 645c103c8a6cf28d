"""The desk dashboard counts each agent's leads not yet contacted on a small partial index (index-only)."""

from crm.migration_sql import sql_migration

ID = "2026-12-02T20:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "leads: partial index of open leads not yet contacted, per owner"

SQL = """
CREATE INDEX lead_owner_untouched ON lead (owner_id) INCLUDE (entity_id)
WHERE first_contact_at IS NULL AND merged_into_id IS NULL
  AND status IN ('new', 'contacted', 'interested', 'registered', 'kyc');
"""

forwards = sql_migration(ID, "leads", DESCRIPTION, SQL)
