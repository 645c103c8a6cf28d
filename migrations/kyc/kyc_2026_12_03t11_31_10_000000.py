"""One current row per list entry; an entry's rows found by the version that brought or ended them."""

from crm.migration_sql import sql_migration

ID = "2026-12-03T11:31:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "kyc: watchlist entry indexes"

SQL = """
CREATE UNIQUE INDEX watchlist_entry_current ON watchlist_entry (watchlist, entry_key) WHERE to_version IS NULL;
CREATE INDEX watchlist_entry_from ON watchlist_entry (from_version);
CREATE INDEX watchlist_entry_to ON watchlist_entry (to_version) WHERE to_version IS NOT NULL;
CREATE UNIQUE INDEX watchlist_version_sha ON watchlist_version (watchlist, sha256);
"""

forwards = sql_migration(ID, "kyc", DESCRIPTION, SQL)
