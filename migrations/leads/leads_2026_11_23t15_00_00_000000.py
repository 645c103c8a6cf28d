"""Indexed lookups for returning clients (by e-mail and phone)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-23T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "leads: client e-mail and phone indexes for the returning-client lookup"

SQL = """
CREATE INDEX IF NOT EXISTS client_email_lower ON client (lower(email));
CREATE INDEX IF NOT EXISTS client_phone ON client (phone) WHERE phone <> '';
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="leads", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        tx = engine.current_transaction.get()
        if tx is not None:
            await tx.connection.execute(SQL)
        else:
            conn = await engine.get_new_connection()
            try:
                await conn.execute(SQL)
            finally:
                await conn.close()

    manager.add_raw(run)
    return manager
