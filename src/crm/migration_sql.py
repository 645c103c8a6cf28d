"""Hand-written SQL migrations (triggers, partial and expression indexes Piccolo cannot express).

ID = "2026-11-23T15:00:00:000000"   # later than the auto migration whose tables it touches
SQL = "CREATE INDEX ..."
forwards = sql_migration(ID, "leads", "what it does", SQL)
"""

from __future__ import annotations

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder


def sql_migration(migration_id: str, app_name: str, description: str, sql: str):
    """The `forwards` coroutine function Piccolo calls: runs `sql` in the migration's transaction."""

    async def forwards() -> MigrationManager:
        manager = MigrationManager(migration_id=migration_id, app_name=app_name, description=description)

        async def run() -> None:
            engine = engine_finder()
            tx = engine.current_transaction.get()
            if tx is not None:
                await tx.connection.execute(sql)
                return
            conn = await engine.get_new_connection()
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        manager.add_raw(run)
        return manager

    return forwards
