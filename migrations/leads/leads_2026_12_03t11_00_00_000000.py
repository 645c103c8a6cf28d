"""The desk lists sort by score, name or country as well as age, and page by keyset (column, id): an index
for each order."""

from crm.migration_sql import sql_migration

ID = "2026-12-03T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "leads: keyset indexes for the sortable desk lists"

SQL = """
CREATE INDEX lead_score_order ON lead (score, id) WHERE merged_into_id IS NULL;
CREATE INDEX lead_name_order ON lead ((lower(last_name)), id) WHERE merged_into_id IS NULL;
CREATE INDEX lead_country_order ON lead (country, id) WHERE merged_into_id IS NULL;
"""

forwards = sql_migration(ID, "leads", DESCRIPTION, SQL)
