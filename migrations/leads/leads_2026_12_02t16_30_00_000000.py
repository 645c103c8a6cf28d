"""Languages stored under a wrong code: `language_code` matched a language *name* before the ISO 639-1 code,
so every English lead was saved as "enc" (the En language), Korean as "fuj" (Ko), and so on. Put back the
code the sender meant (the thirteen two-letter codes whose lookup went astray)."""

from crm.migration_sql import sql_migration

ID = "2026-12-02T16:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "leads: language codes stored by name match put back to their ISO 639-1 code"

SQL = """
UPDATE lead SET language = fix.code
FROM (VALUES ('akq', 'ak'), ('asz', 'as'), ('enc', 'en'), ('gaa', 'ga'), ('haq', 'ha'), ('hoc', 'ho'),
             ('huo', 'hu'), ('ikx', 'ik'), ('fuj', 'ko'), ('nbt', 'na'), ('sax', 'sa'), ('toz', 'to'),
             ('wbm', 'wa')) AS fix(stored, code)
WHERE lead.language = fix.stored;
"""

forwards = sql_migration(ID, "leads", DESCRIPTION, SQL)
