"""Two lead indexes no query needs any more: every lead insert paid for them."""

from crm.migration_sql import sql_migration

ID = "2026-11-23T16:21:22:000000"
VERSION = "1.38.0"
DESCRIPTION = "leads: drop lead_owner_open (agent_load counts open leads) and lead_phone_key (lead_phone serves)"

# lead_phone_key (phone <> '') could not serve the parameterised `phone = $1` of prepared statements; lead_phone does.
SQL = """
DROP INDEX IF EXISTS lead_owner_open;
DROP INDEX IF EXISTS lead_phone_key;
"""


forwards = sql_migration(ID, "leads", DESCRIPTION, SQL)
