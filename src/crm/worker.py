"""arq WorkerSettings: every background job and cron of the product, listed in one place."""

from __future__ import annotations

import datetime as dt
import functools
import time
import traceback

from arq import cron
from arq.connections import RedisSettings

from crm.areas import load_areas
from crm.core.db import engine, start_pool
from crm.core.events.runs import log_run
from crm.core.jobs import arq_functions
from crm.settings import Settings

# This module is an entry point: every area's jobs are registered before WorkerSettings lists them.
load_areas()


def logged(cron_fn):
    """A cron's runs go to the automation log when they did something or failed (idle ticks are not
    logged)."""

    @functools.wraps(cron_fn)
    async def run(ctx: dict) -> int:
        started, clock = dt.datetime.now(dt.UTC), time.perf_counter()
        try:
            count = await cron_fn(ctx)
        except Exception as exc:
            await log_run(
                cron_fn.__name__,
                "cron",
                outcome="failed",
                error="".join(traceback.format_exception_only(exc)).strip(),
                started=started,
                duration_ms=int((time.perf_counter() - clock) * 1000),
            )
            raise
        if count:
            await log_run(
                cron_fn.__name__,
                "cron",
                output={"handled": count},
                started=started,
                duration_ms=int((time.perf_counter() - clock) * 1000),
            )
        return count

    return run


@logged
async def expire_role_assignments(ctx: dict) -> int:
    """Cron: end temporary elevations and other assignments whose window has closed (idempotent)."""
    from crm.core.org.assignments import expire_assignments

    return await expire_assignments()


@logged
async def sweep_sessions(ctx: dict) -> int:
    """Cron: end and audit sessions past their idle or absolute timeout (idempotent)."""
    from crm.identity.sessions import sweep_expired_sessions

    return await sweep_expired_sessions(ctx["settings"])


@logged
async def escalate_overdue_cases(ctx: dict) -> int:
    """Cron: escalate cases past their SLA to the queue's team lead, once each (idempotent)."""
    from crm.core.cases.escalation import escalate_overdue

    return await escalate_overdue()


@logged
async def refresh_lead_performance(ctx: dict) -> int:
    """Cron: recompute pool members' recent conversion, used by pools shared by performance (idempotent)."""
    from crm.leads.performance import refresh_performance

    return await refresh_performance()


@logged
async def refresh_desk_figures(ctx: dict) -> int:
    """Cron: the desk dashboard's roll-up, today and yesterday every minute, the past year at minute 37 (a
    lead's later status change is counted within the hour). Idempotent: whole days are replaced."""
    from crm.leads.figures import refresh_figures

    now = dt.datetime.now(dt.UTC)
    days = 366 if now.minute == 37 else 1
    await refresh_figures(now.date() - dt.timedelta(days=days))
    return 0  # a routine refresh; the automation log keeps failures only


@logged
async def retry_notifications(ctx: dict) -> int:
    """Cron: resend email and chat notifications whose last attempt failed, after their backoff."""
    from crm.core.notifications.service import retry_failed

    return await retry_failed(ctx["settings"])


@logged
async def rescreen_clients(ctx: dict) -> int:
    """Cron, daily: ask for the full re-screen of every client against every current list entry."""
    from crm.kyc.screening.rescreen import schedule_full_rescreen

    return await schedule_full_rescreen()


async def dispatch_events(ctx: dict) -> int:
    """Deliver pending domain events now (the background loop does this continuously; this is the
    fallback)."""
    from crm.core.events.dispatcher import dispatch_pending

    return await dispatch_pending()


async def startup(ctx: dict) -> None:
    import asyncio

    from crm.core.events.dispatcher import run_dispatcher

    settings = Settings.from_env()
    settings.refuse_unsafe_production()
    ctx["settings"] = settings
    if settings.db_pool:
        await start_pool(1, settings.db_pool_max)
    if ctx.get("run_event_loop", True):
        ctx["dispatcher_stop"] = asyncio.Event()
        ctx["dispatcher"] = asyncio.create_task(run_dispatcher(ctx["dispatcher_stop"], settings.database_url))


async def shutdown(ctx: dict) -> None:
    if "dispatcher" in ctx:
        ctx["dispatcher_stop"].set()
        await ctx["dispatcher"]
    db = engine()
    if db.pool is not None:
        await db.close_connection_pool()


def redis_settings(settings: Settings | None = None) -> RedisSettings:
    settings = settings or Settings.from_env()
    return RedisSettings.from_dsn(settings.redis_url or "redis://127.0.0.1:6379")


class WorkerSettings:
    functions = [
        expire_role_assignments,
        sweep_sessions,
        escalate_overdue_cases,
        dispatch_events,
        retry_notifications,
        refresh_lead_performance,
        refresh_desk_figures,
        rescreen_clients,
        *arq_functions(),
    ]
    cron_jobs = [
        cron(expire_role_assignments, second=0, unique=True, run_at_startup=True),
        cron(sweep_sessions, second=30, unique=True),
        cron(escalate_overdue_cases, second={15, 45}, unique=True),
        cron(dispatch_events, second=5, unique=True),
        cron(retry_notifications, second={20, 50}, unique=True),
        cron(refresh_lead_performance, minute=7, second=0, unique=True, run_at_startup=True),
        cron(refresh_desk_figures, second=40, unique=True, run_at_startup=True),
        cron(rescreen_clients, hour=3, minute=10, second=0, unique=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    max_tries = 5
    # redis_settings is passed by `crm worker` at start-up, so nothing reads the environment at import.
