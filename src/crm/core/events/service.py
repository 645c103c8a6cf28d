"""Domain events: `emit` inside the business transaction, `subscribe` to react after commit.

`emit` writes the event and one delivery row per subscriber in the caller's transaction, then `pg_notify`s
the dispatcher; PostgreSQL delivers a NOTIFY only at commit, so nothing reacts to a change that rolled back.
Delivery is at-least-once; the dispatcher marks a delivery done in the same transaction as the subscriber's
own writes, so database effects happen exactly once even if a worker dies half-way.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from crm.core.audit.chain import normalise
from crm.core.context import Actor
from crm.core.db import current_connection
from crm.core.registry import require_loaded

CHANNEL = "crm_events"

Handler = Callable[[dict], Awaitable[dict | None]]


@dataclass(frozen=True)
class Subscriber:
    """A named reaction to some events. `handle(event)` returns what to log as the run's output."""

    name: str
    events: frozenset[str]
    handle: Handler
    max_attempts: int = 8

    def wants(self, event_name: str) -> bool:
        return event_name in self.events or "*" in self.events


_SUBSCRIBERS: dict[str, Subscriber] = {}


def subscribe(name: str, *events: str, max_attempts: int = 8) -> Callable[[Handler], Handler]:
    """Register `handle(event) -> output` for `events` under a stable `name` (stored on each delivery)."""

    def register(handle: Handler) -> Handler:
        _SUBSCRIBERS[name] = Subscriber(name, frozenset(events), handle, max_attempts)
        return handle

    return register


def subscriber(name: str) -> Subscriber | None:
    return _SUBSCRIBERS.get(name)


def unsubscribe(name: str) -> None:
    """For tests that register temporary subscribers."""
    _SUBSCRIBERS.pop(name, None)


def subscribers_of(event_name: str) -> list[str]:
    """The names of every subscriber of an event. Deliveries are created for the subscribers known to the emitting
    process, so it refuses to answer before the entry point loaded every area (crm.core.registry)."""
    require_loaded(f"emitting {event_name!r}")
    return [s.name for s in _SUBSCRIBERS.values() if s.wants(event_name)]


_EMIT = """
WITH event AS (
    INSERT INTO domain_event (name, entity_id, subject_type, subject_id, payload, actor_id, occurred_at)
    VALUES ($1, $2, $3, $4, $5::jsonb, $6, now()) RETURNING id
), deliveries AS (
    INSERT INTO event_delivery (event, subscriber, status, attempts, next_attempt_at, last_error)
    SELECT event.id, target, 'pending', 0, now(), '' FROM event, unnest($7::text[]) AS target
)
SELECT id, CASE WHEN cardinality($7::text[]) > 0 THEN pg_notify($8, id::text) END FROM event
"""


async def emit(
    actor: Actor, name: str, *, entity_id: int | None = None, subject_type: str = "", subject_id: Any = "",
    payload: dict | None = None,
) -> int:
    """Record event `name` (e.g. "case.created") in the current transaction; returns its id.

    One round trip writes the event, one delivery per subscriber, and the NOTIFY (sent by PostgreSQL at commit)."""
    body = json.dumps(normalise(payload or {}))
    targets = subscribers_of(name)
    return await current_connection().fetchval(_EMIT, name, entity_id, subject_type, str(subject_id), body,
                                               actor.user_id, targets, CHANNEL)
