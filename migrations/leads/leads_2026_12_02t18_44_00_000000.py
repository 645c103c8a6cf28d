"""The dashboard roll-up is replaced day by day: one row per (day, entity, dimension, key)."""

from crm.migration_sql import sql_migration

ID = "2026-12-02T18:44:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "leads: unique key of the dashboard roll-up"

SQL = """
CREATE UNIQUE INDEX lead_figures_day_key ON lead_figures_day (day, entity_id, dimension, key);
CREATE INDEX lead_figures_day_entity ON lead_figures_day (entity_id, day);
"""

forwards = sql_migration(ID, "leads", DESCRIPTION, SQL)
