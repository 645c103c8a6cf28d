"""Idempotency keys (a sender's lead id per source, a provider's call id) and the indexes routing reads."""

from crm.migration_sql import sql_migration

ID = "2026-11-23T14:01:50:000000"
VERSION = "1.38.0"
DESCRIPTION = "leads: unique external ids, open-lead and routing indexes"

SQL = """
CREATE UNIQUE INDEX lead_source_external ON lead (source_id, external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX call_record_provider_external ON call_record (provider, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX lead_owner_open ON lead (owner_id) WHERE status IN ('new', 'contacted', 'interested', 'registered', 'kyc')
    AND merged_into_id IS NULL;
CREATE INDEX lead_unassigned ON lead (entity_id, created_at) WHERE owner_id IS NULL AND merged_into_id IS NULL;
CREATE INDEX lead_case ON lead (case_id) WHERE case_id IS NOT NULL;
CREATE UNIQUE INDEX lead_pool_member_unique ON lead_pool_member (pool, agent_id);
CREATE UNIQUE INDEX lead_rule_set_version ON lead_rule_set (kind, entity_id, version);
CREATE INDEX lead_phone_key ON lead (phone) WHERE phone <> '';
CREATE INDEX lead_name_dob ON lead (lower(last_name), date_of_birth) WHERE date_of_birth IS NOT NULL;
"""


forwards = sql_migration(ID, "leads", DESCRIPTION, SQL)
