"""Background jobs: registered by name, requested inside the business transaction, run by the arq worker.

    @job("leads.import_csv", max_attempts=3)
    async def import_csv(run: JobRun, import_id: int) -> dict: ...

    await enqueue(actor, "leads.import_csv", entity_id=eu, import_id=7)   # inside a transaction

`enqueue` goes through the outbox (a `job.requested` event), so a job exists only if the change that asked for
it committed; the `jobs.enqueue` subscriber hands it to arq under the id `event-<event id>`, and arq refuses a
second job with the same id, so a redelivered event never runs a job twice. A run that raises is retried with
exponential backoff; after `max_attempts` it becomes a **dead job** (shown next to dead event deliveries in
the admin UI, retried or discarded with a reason). Every run, good or bad, is written to the automation log. A
job must be idempotent: a worker killed mid-run makes arq start it again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from arq import Retry
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.worker import Function, func

from crm.core.context import Actor
from crm.core.db import current_connection, transaction
from crm.core.events.runs import log_run
from crm.core.events.service import emit, subscribe
from crm.core.labels import LABELS
from crm.core.live import publish
from crm.settings import Settings

PROGRESS_CHANNEL = "crm:live:jobs"


@dataclass
class JobRun:
    """What a running job knows about itself, and how it reports progress to live progress bars."""

    name: str
    job_id: str
    attempt: int
    entity_id: int | None
    requested_by: int | None
    actor: Actor
    redis_url: str = ""
    _last_push: float = field(default=0.0, repr=False)

    async def progress(self, done: int, total: int, note: str = "", force: bool = False) -> None:
        """Publish progress (at most ~10 times a second unless forced) for pages that show this job."""
        now = time.monotonic()
        if not force and now - self._last_push < 0.1 and done < total:
            return
        self._last_push = now
        await publish(
            self.redis_url,
            PROGRESS_CHANNEL,
            {"job_id": self.job_id, "job": self.name, "done": done, "total": total, "note": note},
        )


JobFunction = Callable[..., Awaitable[dict | None]]
DeadHandler = Callable[[dict, str], Awaitable[None]]  # (the job's kwargs, the last error)


class JobFailed(Exception):
    """Raised by a job that ran to the end but cannot succeed as asked (bad data, refused items): logged as
    failed with its output, never retried (trying again would fail the same way)."""

    def __init__(self, error: str, output: dict | None = None):
        super().__init__(error)
        self.error = error
        self.output = output or {}


@dataclass(frozen=True)
class JobSpec:
    name: str
    run: JobFunction
    max_attempts: int = 5
    timeout_s: int = 600
    retry_delay_s: float = 5.0
    on_dead: DeadHandler | None = None


_JOBS: dict[str, JobSpec] = {}


def job(
    name: str,
    *,
    max_attempts: int = 5,
    timeout_s: int = 600,
    retry_delay_s: float = 5.0,
    on_dead: DeadHandler | None = None,
    label: str | None = None,
) -> Callable[[JobFunction], JobFunction]:
    """Register `run(job_run, **kwargs) -> output` as background job `name`; a failed attempt is retried after
    retry_delay_s, doubling each time (capped at an hour). `on_dead(kwargs, error)` runs once when the last
    attempt fails, so the record the job was working on can say so (never a progress bar stuck forever)."""

    def register(run: JobFunction) -> JobFunction:
        _JOBS[name] = JobSpec(name, run, max_attempts, timeout_s, retry_delay_s, on_dead)
        if label:
            LABELS.add("automation", {name: label})
        return run

    return register


def job_spec(name: str) -> JobSpec | None:
    return _JOBS.get(name)


def backoff(attempt: int, base_s: float = 5.0) -> dt.timedelta:
    """base, 2 × base, 4 × base ... capped at one hour."""
    return dt.timedelta(seconds=min(3600.0, base_s * 2 ** (attempt - 1)))


async def enqueue(
    actor: Actor,
    name: str,
    *,
    entity_id: int | None = None,
    subject_type: str = "",
    subject_id: Any = "",
    **kwargs: Any,
) -> int:
    """Ask for job `name` in the current transaction; returns the requesting event's id (the job runs as
    `event-<id>`). kwargs must be JSON values."""
    if name not in _JOBS:
        raise LookupError(f"no job named {name!r} is registered")
    return await emit(
        actor,
        "job.requested",
        entity_id=entity_id,
        subject_type=subject_type,
        subject_id=subject_id,
        payload={"job": name, "kwargs": kwargs, "requested_by": actor.user_id},
    )


def job_id_for(event_id: int) -> str:
    return f"event-{event_id}"


_pools: dict[tuple[str, int], ArqRedis] = {}


async def arq_pool(url: str) -> ArqRedis:
    """One arq connection pool per Redis URL and event loop."""
    key = (url, id(asyncio.get_running_loop()))
    if key not in _pools:
        _pools[key] = await create_pool(RedisSettings.from_dsn(url))
    return _pools[key]


@subscribe("jobs.enqueue", "job.requested", label="Job queueing")
async def hand_to_arq(event: dict) -> dict:
    """Queue a requested job in arq; the deterministic job id makes a redelivered request a no-op."""
    payload = event["payload"]
    meta = {
        "entity_id": event["entity_id"],
        "requested_by": payload.get("requested_by"),
        "subject_type": event["subject_type"],
        "subject_id": event["subject_id"],
    }
    job_id = payload.get("job_id") or job_id_for(event["id"])
    pool = await arq_pool(Settings.from_env().redis_url)
    queued = await pool.enqueue_job(payload["job"], meta, payload.get("kwargs") or {}, _job_id=job_id)
    return {"job": payload["job"], "job_id": job_id, "queued": queued is not None}


_DEAD = """
INSERT INTO dead_job (job_name, job_id, meta, kwargs, entity_id, attempts, last_error, status, created_at)
VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7, 'dead', now())
ON CONFLICT (job_id) DO NOTHING
"""


def _arq_function(spec: JobSpec) -> Function:
    async def run(ctx: dict, meta: dict, kwargs: dict) -> dict | None:
        attempt, job_id = ctx["job_try"], ctx["job_id"]
        started, clock = dt.datetime.now(dt.UTC), time.perf_counter()
        common = {
            "entity_id": meta.get("entity_id"),
            "subject_type": meta.get("subject_type") or "",
            "subject_id": meta.get("subject_id") or "",
            "input": {"kwargs": kwargs, "job_id": job_id},
        }
        if attempt > spec.max_attempts:  # the worker died during the last attempt: nothing left to try
            await _bury(spec, job_id, meta, kwargs, attempt - 1, "the worker stopped during the last attempt")
            await log_run(
                spec.name,
                f"job:{job_id}",
                outcome="dead",
                error="worker stopped",
                attempt=attempt - 1,
                started=started,
                duration_ms=0,
                **common,
            )
            return None
        actor = Actor.system(spec.name)
        if meta.get("requested_by"):
            actor = Actor(
                user_id=None,
                label=f"system:{spec.name}",
                is_system=True,
                on_behalf_of_id=meta["requested_by"],
            )
        run_ctx = JobRun(
            spec.name,
            job_id,
            attempt,
            meta.get("entity_id"),
            meta.get("requested_by"),
            actor,
            ctx.get("settings", Settings.from_env()).redis_url,
        )
        try:
            output = await spec.run(run_ctx, **kwargs)
        except JobFailed as failed:
            await log_run(
                spec.name,
                f"job:{job_id}",
                output=failed.output,
                outcome="failed",
                error=failed.error,
                attempt=attempt,
                started=started,
                duration_ms=int((time.perf_counter() - clock) * 1000),
                **common,
            )
            return failed.output
        except Exception as exc:
            error = "".join(traceback.format_exception_only(exc)).strip()
            elapsed = int((time.perf_counter() - clock) * 1000)
            dead = attempt >= spec.max_attempts
            if dead:
                await _bury(spec, job_id, meta, kwargs, attempt, error)
            await log_run(
                spec.name,
                f"job:{job_id}",
                outcome="dead" if dead else "failed",
                error=error,
                attempt=attempt,
                started=started,
                duration_ms=elapsed,
                **common,
            )
            if dead:
                raise
            raise Retry(defer=backoff(attempt, spec.retry_delay_s)) from exc
        await log_run(
            spec.name,
            f"job:{job_id}",
            output=output or {},
            attempt=attempt,
            started=started,
            duration_ms=int((time.perf_counter() - clock) * 1000),
            **common,
        )
        return output

    run.__qualname__ = run.__name__ = spec.name.replace(".", "_")
    # one more arq try than attempts, so a run lost with its worker still reaches `run` and is buried
    return func(run, name=spec.name, max_tries=spec.max_attempts + 1, timeout=spec.timeout_s)


async def _bury(spec: JobSpec, job_id: str, meta: dict, kwargs: dict, attempts: int, error: str) -> None:
    async with transaction():
        await current_connection().execute(
            _DEAD,
            spec.name,
            job_id,
            json.dumps(meta),
            json.dumps(kwargs),
            meta.get("entity_id"),
            attempts,
            error[:4000],
        )
        if spec.on_dead is not None:
            await spec.on_dead(kwargs, error)


def arq_functions() -> list[Function]:
    """Every registered job, for WorkerSettings (areas must be imported first)."""
    return [_arq_function(spec) for spec in _JOBS.values()]
