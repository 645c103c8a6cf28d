"""A client is raised once per entry row; open matches found by client and by case."""

from crm.migration_sql import sql_migration

ID = "2026-12-03T13:15:07:000000"
VERSION = "1.38.0"
DESCRIPTION = "kyc: screening match indexes"

SQL = """
CREATE UNIQUE INDEX screening_match_once ON screening_match (client, entry_row);
CREATE INDEX screening_match_undecided ON screening_match (entry_row) WHERE status IN ('open', 'clearing');
CREATE INDEX screening_match_case ON screening_match (case_reference);
"""

forwards = sql_migration(ID, "kyc", DESCRIPTION, SQL)
