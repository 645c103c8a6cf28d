"""Access to the database engine and the connection of the current transaction."""

from __future__ import annotations

import asyncpg
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction


def engine() -> PostgresEngine:
    """The engine configured in crm.piccolo_conf (imported late: it reads the environment)."""
    from crm.piccolo_conf import DB

    return DB


def transaction() -> PostgresTransaction:
    """`async with transaction():` opens one, or joins the one already open in this task."""
    return engine().transaction()


def current_connection() -> asyncpg.Connection:
    """The connection of the open transaction; audit and other must-commit-together writes require one."""
    tx = engine().current_transaction.get()
    if tx is None:
        raise RuntimeError("this write must run inside `async with transaction():`")
    return tx.connection


async def fetch(sql: str, *args) -> list[asyncpg.Record]:
    """Run SQL on the current transaction's connection, else on a pooled or new connection."""
    db = engine()
    tx = db.current_transaction.get()
    if tx is not None:
        return await tx.connection.fetch(sql, *args)
    if db.pool is not None:
        async with db.pool.acquire() as conn:
            return await conn.fetch(sql, *args)
    conn = await db.get_new_connection()
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()
