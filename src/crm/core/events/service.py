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
from crm.core.labels import LABELS
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


def subscribe(
    name: str, *events: str, max_attempts: int = 8, label: str | None = None
) -> Callable[[Handler], Handler]:
    """Register `handle(event) -> output` for `events` under a stable `name` (stored on each delivery) and
    the words people see for it (`label`, in the automation log)."""

    def register(handle: Handler) -> Handler:
        _SUBSCRIBERS[name] = Subscriber(name, frozenset(events), handle, max_attempts)
        if label:
            LABELS.add("automation", {name: label})
        return handle

    return register


def subscriber(name: str) -> Subscriber | None:
    return _SUBSCRIBERS.get(name)


def unsubscribe(name: str) -> None:
    """For tests that register temporary subscribers."""
    _SUBSCRIBERS.pop(name, None)


def subscribers_of(event_name: str) -> list[str]:
    """The names of every subscriber of an event. Deliveries are created for the subscribers known to the
    emitting process, so it refuses to answer before the entry point loaded every area (crm.core.registry)."""
    require_loaded(f"emitting {event_name!r}")
    return [s.name for s in _SUBSCRIBERS.values() if s.wants(event_name)]


def outbox_sql(
    cte: str,
    *,
    name: str,
    entity: str,
    subject_type: str,
    subject_id: str,
    payload: str,
    actor: str,
    targets: str,
    source: str = "",
) -> str:
    """The outbox write as two CTEs, for statements that write an event together with its change in one round
    trip (emit itself, a case's opening, a notification, a lead's intake): `<cte>` inserts the event
    (RETURNING id) and `<cte>_deliveries` one pending delivery per name in `targets` (a text[] expression,
    from `subscribers_of`). The other arguments are SQL expressions; `source` is the FROM (and WHERE) they
    read, e.g. "FROM saved". Follow with `notify_sql(cte, targets)` in the final SELECT. The one definition of
    how an event is stored."""
    return f"""{cte} AS (
    INSERT INTO domain_event (name, entity_id, subject_type, subject_id, payload, actor_id, occurred_at)
    SELECT {name}, {entity}, {subject_type}, {subject_id}, {payload}, {actor}, now() {source}
    RETURNING id
), {cte}_deliveries AS (
    INSERT INTO event_delivery (event, subscriber, status, attempts, next_attempt_at, last_error)
    SELECT {cte}.id, target, 'pending', 0, now(), '' FROM {cte}, unnest({targets}::text[]) AS target
)"""  # noqa: S608 (expressions written by the calling module, never input)


def notify_sql(cte: str, targets: str) -> str:
    """Wake the dispatcher at commit (PostgreSQL sends a NOTIFY only then) if the event has any delivery."""
    return (
        f"(SELECT pg_notify('{CHANNEL}', {cte}.id::text) FROM {cte} "  # noqa: S608 (names, not input)
        f"WHERE cardinality({targets}::text[]) > 0)"
    )


_EMIT = f"""
WITH {
    outbox_sql(
        "event",
        name="$1",
        entity="$2::int",
        subject_type="$3",
        subject_id="$4",
        payload="$5::jsonb",
        actor="$6::int",
        targets="$7",
    )
}
SELECT id, {notify_sql("event", "$7")} FROM event
"""  # noqa: S608 (SQL fragments of the owning modules)


async def emit(
    actor: Actor,
    name: str,
    *,
    entity_id: int | None = None,
    subject_type: str = "",
    subject_id: Any = "",
    payload: dict | None = None,
) -> int:
    """Record event `name` (e.g. "case.created") in the current transaction; returns its id.

    One round trip writes the event, one delivery per subscriber, and the NOTIFY (sent by PostgreSQL at
    commit)."""
    body = json.dumps(normalise(payload or {}))
    targets = subscribers_of(name)
    return await current_connection().fetchval(
        _EMIT, name, entity_id, subject_type, str(subject_id), body, actor.user_id, targets
    )
