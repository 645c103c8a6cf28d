"""Each agent's open leads kept by a trigger on `lead` (and a row for every pool member), backfilled."""

from crm.migration_sql import sql_migration

ID = "2026-11-23T16:21:21:000000"
VERSION = "1.38.0"
DESCRIPTION = "leads: trigger keeping agent_load.open_leads, and its backfill"

# Open = the statuses in crm.leads.tables.OPEN_LEAD_STATUSES, not merged, with an owner (a test compares them).
SQL = """
CREATE OR REPLACE FUNCTION lead_counts_as_open(status text, owner_id integer, merged_into_id integer)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT owner_id IS NOT NULL AND merged_into_id IS NULL
       AND status IN ('new', 'contacted', 'interested', 'registered', 'kyc')
$$;

CREATE OR REPLACE FUNCTION agent_load_follow_lead() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was integer;
    now_is integer;
BEGIN
    IF TG_OP <> 'INSERT' AND lead_counts_as_open(OLD.status, OLD.owner_id, OLD.merged_into_id) THEN
        was := OLD.owner_id;
    END IF;
    IF TG_OP <> 'DELETE' AND lead_counts_as_open(NEW.status, NEW.owner_id, NEW.merged_into_id) THEN
        now_is := NEW.owner_id;
    END IF;
    IF was IS NOT DISTINCT FROM now_is THEN
        RETURN NULL;
    END IF;
    -- rows are touched in agent order, so two re-routings in opposite directions cannot deadlock
    IF was IS NOT NULL AND (now_is IS NULL OR was < now_is) THEN
        UPDATE agent_load SET open_leads = open_leads - 1 WHERE agent_id = was;
        was := NULL;
    END IF;
    IF now_is IS NOT NULL THEN
        INSERT INTO agent_load (agent_id, open_leads) VALUES (now_is, 1)
        ON CONFLICT (agent_id) DO UPDATE SET open_leads = agent_load.open_leads + 1;
    END IF;
    IF was IS NOT NULL THEN
        UPDATE agent_load SET open_leads = open_leads - 1 WHERE agent_id = was;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS lead_agent_load ON lead;
CREATE TRIGGER lead_agent_load AFTER INSERT OR DELETE OR UPDATE OF owner_id, status, merged_into_id ON lead
    FOR EACH ROW EXECUTE FUNCTION agent_load_follow_lead();

-- every pool member has a load row to lock before their first lead
CREATE OR REPLACE FUNCTION agent_load_for_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agent_load (agent_id, open_leads) VALUES (NEW.agent_id, 0) ON CONFLICT (agent_id) DO NOTHING;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS lead_pool_member_load ON lead_pool_member;
CREATE TRIGGER lead_pool_member_load AFTER INSERT ON lead_pool_member
    FOR EACH ROW EXECUTE FUNCTION agent_load_for_member();

INSERT INTO agent_load (agent_id, open_leads)
SELECT owner_id, count(*) FROM lead WHERE lead_counts_as_open(status, owner_id, merged_into_id) GROUP BY owner_id
ON CONFLICT (agent_id) DO UPDATE SET open_leads = EXCLUDED.open_leads;
INSERT INTO agent_load (agent_id, open_leads) SELECT DISTINCT agent_id, 0 FROM lead_pool_member
ON CONFLICT (agent_id) DO NOTHING;
"""


forwards = sql_migration(ID, "leads", DESCRIPTION, SQL)
