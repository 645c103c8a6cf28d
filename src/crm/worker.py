"""arq WorkerSettings: every background job and cron of the product, listed in one place."""

from __future__ import annotations

from arq import cron
from arq.connections import RedisSettings

from crm.core.db import engine
from crm.settings import Settings


async def expire_role_assignments(ctx: dict) -> int:
    """Cron: end temporary elevations and other assignments whose window has closed (idempotent)."""
    from crm.access.assignments import expire_assignments

    return await expire_assignments()


async def sweep_sessions(ctx: dict) -> int:
    """Cron: end and audit sessions past their idle or absolute timeout (idempotent)."""
    from crm.identity.sessions import sweep_expired_sessions

    return await sweep_expired_sessions(ctx["settings"])


async def startup(ctx: dict) -> None:
    settings = Settings.from_env()
    ctx["settings"] = settings
    import crm.areas  # noqa: F401

    if settings.db_pool:
        await engine().start_connection_pool(min_size=1, max_size=settings.db_pool_max)


async def shutdown(ctx: dict) -> None:
    db = engine()
    if db.pool is not None:
        await db.close_connection_pool()


def redis_settings(settings: Settings | None = None) -> RedisSettings:
    settings = settings or Settings.from_env()
    return RedisSettings.from_dsn(settings.redis_url or "redis://127.0.0.1:6379")


class WorkerSettings:
    functions = [expire_role_assignments, sweep_sessions]
    cron_jobs = [
        cron(expire_role_assignments, second=0, unique=True, run_at_startup=True),
        cron(sweep_sessions, second=30, unique=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    max_tries = 5
    # redis_settings is passed by `crm worker` at start-up, so nothing reads the environment at import.
