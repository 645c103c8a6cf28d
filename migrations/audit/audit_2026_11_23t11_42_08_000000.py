"""Append-only triggers, the chain's genesis head row and the indexes behind every audit-screen filter."""

from crm.migration_sql import sql_migration

ID = "2026-11-23T11:42:08:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit: append-only triggers, genesis head, search indexes"

SQL = """
INSERT INTO audit_chain_head (id, seq, row_hash) VALUES (1, 0, repeat('0', 64)) ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_record_append_only BEFORE UPDATE OR DELETE ON audit_record
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_record_no_truncate BEFORE TRUNCATE ON audit_record
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

CREATE INDEX audit_record_actor_seq ON audit_record (actor_id, seq) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_record_entity_seq ON audit_record (entity_id, seq);
CREATE INDEX audit_record_client_seq ON audit_record (client_id, seq) WHERE client_id IS NOT NULL;
CREATE INDEX audit_record_action_seq ON audit_record (action, seq);
CREATE INDEX audit_record_target_seq ON audit_record (target_type, target_id, seq);
CREATE INDEX audit_record_case_seq ON audit_record (case_id, seq) WHERE case_id IS NOT NULL;
CREATE INDEX audit_record_occurred_at ON audit_record (occurred_at);
"""


forwards = sql_migration(ID, "audit", DESCRIPTION, SQL)
