"""Handing pending deliveries to their subscribers, with retries, backoff and a dead-letter state.

A batch of deliveries is locked with FOR UPDATE SKIP LOCKED (so several workers share the work) and each is
run inside a savepoint of one transaction: the subscriber's writes, the delivery's `done` mark and its
automation-run row commit together. A worker killed mid-batch commits nothing, and the next one redoes the
batch: at-least-once delivery, exactly-once effect in the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
import traceback

import asyncpg

from crm.core.db import current_connection, savepoint, transaction
from crm.core.events.runs import log_run
from crm.core.events.service import CHANNEL, subscriber

log = logging.getLogger("crm.events")

_CLAIM = """
SELECT d.id AS delivery_id, d.subscriber, d.attempts, e.id, e.name, e.entity_id, e.subject_type, e.subject_id,
       e.payload, e.actor_id, e.occurred_at
FROM event_delivery d JOIN domain_event e ON e.id = d.event
WHERE d.status = 'pending' AND d.next_attempt_at <= now()
ORDER BY d.id
LIMIT $1
FOR UPDATE OF d SKIP LOCKED
"""


def backoff(attempt: int) -> dt.timedelta:
    """2 s, 4 s, 8 s ... capped at one hour."""
    return dt.timedelta(seconds=min(3600, 2**attempt))


async def _log_run(
    automation: str,
    trigger: str,
    event: dict,
    output: dict | None,
    outcome: str,
    error: str,
    attempt: int,
    started: dt.datetime,
    elapsed_ms: int,
) -> None:
    await log_run(
        automation,
        trigger,
        entity_id=event.get("entity_id"),
        subject_type=event.get("subject_type") or "",
        subject_id=str(event.get("subject_id") or ""),
        output=output,
        input={"event": event["name"], "event_id": event["id"], "payload": event["payload"]},
        outcome=outcome,
        error=error,
        attempt=attempt,
        started=started,
        duration_ms=elapsed_ms,
    )


async def _deliver(row: asyncpg.Record) -> None:
    """Run one delivery inside a savepoint; record success, retry or dead letter."""
    conn = current_connection()
    event = {
        k: row[k]
        for k in ("id", "name", "entity_id", "subject_type", "subject_id", "actor_id", "occurred_at")
    }
    event["payload"] = json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]
    spec = subscriber(row["subscriber"])
    attempt = row["attempts"] + 1
    started, clock = dt.datetime.now(dt.UTC), time.perf_counter()
    try:
        async with savepoint():
            if spec is None:
                raise LookupError(f"no subscriber named {row['subscriber']!r} is registered")
            output = await spec.handle(event)
    except Exception as exc:  # a subscriber's failure must not stop the others
        elapsed = int((time.perf_counter() - clock) * 1000)
        dead = attempt >= (spec.max_attempts if spec else 1)
        error = "".join(traceback.format_exception_only(exc)).strip()
        await conn.execute(
            "UPDATE event_delivery SET attempts = $2, last_error = $3, status = $4, next_attempt_at = $5 "
            "WHERE id = $1",
            row["delivery_id"],
            attempt,
            error[:4000],
            "dead" if dead else "pending",
            dt.datetime.now(dt.UTC) + backoff(attempt),
        )
        await _log_run(
            row["subscriber"],
            f"event:{event['id']}",
            event,
            None,
            "dead" if dead else "failed",
            error,
            attempt,
            started,
            elapsed,
        )
        log.warning(
            "subscriber %s failed on event %s (attempt %s): %s",
            row["subscriber"],
            event["id"],
            attempt,
            error,
        )
        return
    elapsed = int((time.perf_counter() - clock) * 1000)
    await conn.execute(
        "UPDATE event_delivery SET status = 'done', attempts = $2, handled_at = now() WHERE id = $1",
        row["delivery_id"],
        attempt,
    )
    await _log_run(
        row["subscriber"], f"event:{event['id']}", event, output, "ok", "", attempt, started, elapsed
    )


async def dispatch_pending(batch: int = 50, max_batches: int | None = None) -> int:
    """Deliver what is due, batch by batch, until nothing is left; returns how many deliveries ran."""
    handled, batches = 0, 0
    while max_batches is None or batches < max_batches:
        async with transaction():
            rows = await current_connection().fetch(_CLAIM, batch)
            for row in rows:
                await _deliver(row)
        handled += len(rows)
        batches += 1
        if len(rows) < batch:
            break
    return handled


async def run_dispatcher(stop: asyncio.Event, dsn: str, poll_seconds: float = 2.0) -> None:
    """Worker background loop: dispatch on every NOTIFY (sent at commit), and poll for retries and misses."""
    wake = asyncio.Event()
    listener = await asyncpg.connect(dsn)
    await listener.add_listener(CHANNEL, lambda *_: wake.set())
    try:
        while not stop.is_set():
            try:
                await dispatch_pending()
            except Exception:  # keep the loop alive through a database hiccup; the poll retries
                log.exception("event dispatch failed")
            try:
                await asyncio.wait_for(wake.wait(), timeout=poll_seconds)
            except TimeoutError:
                pass
            wake.clear()
    finally:
        await listener.close()
