"""Access to the database engine and the connection of the current transaction."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction

_engine: PostgresEngine | None = None


def engine() -> PostgresEngine:
    """The engine configured in crm.piccolo_conf (imported on first use: it reads the environment)."""
    global _engine
    if _engine is None:
        from crm.piccolo_conf import DB

        _engine = DB
    return _engine


class PooledConnection(asyncpg.Connection):
    """A pooled connection released without a reset query (one round trip saved per checkout). Safe because
    the app keeps no session state on pooled connections: no SET (only SET LOCAL / set_config(..., true)), no
    LISTEN (the dispatcher listens on its own connection), no session advisory locks. asyncpg still rolls back
    any transaction left open."""

    def get_reset_query(self) -> str:
        return ""


async def start_pool(min_size: int, max_size: int) -> None:
    """Open the engine's connection pool (web, worker, benchmarks).

    Pooled sessions plan prepared statements generically (CRM_PG_PLAN_CACHE_MODE, default force_generic_plan):
    the app's statements are parameterised with stable shapes (optional filters are added to the SQL, not
    switched by parameters), and PostgreSQL's default re-plans every statement five times in every connection
    after each autovacuum ANALYZE, a burst of planning that stalled intake for seconds on a busy machine."""
    settings = {"plan_cache_mode": os.environ.get("CRM_PG_PLAN_CACHE_MODE", "force_generic_plan")}
    await engine().start_connection_pool(
        min_size=min_size, max_size=max_size, connection_class=PooledConnection, server_settings=settings
    )


def transaction() -> PostgresTransaction:
    """`async with transaction():` opens one, or joins the one already open in this task."""
    return engine().transaction()


@asynccontextmanager
async def savepoint() -> AsyncIterator[None]:
    """Inside the current transaction: if the block raises, undo only its writes (and re-raise)."""
    tx = engine().current_transaction.get()
    if tx is None:
        raise RuntimeError("a savepoint needs an open `async with transaction():`")
    point = await tx.savepoint()
    try:
        yield
    except BaseException:
        await point.rollback_to()
        raise
    await point.release()


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
