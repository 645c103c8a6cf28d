"""Statements that write another module's table inline (to save round trips) take the SQL from its owner;
these tests check that each such path writes exactly what the owner's own function writes."""

import itertools

from crm.core.cases.service import open_case
from crm.core.context import Actor
from crm.core.db import fetch, transaction
from crm.core.events.service import emit, subscribers_of
from crm.core.notifications.service import notify
from crm.leads.context import add_activity
from crm.leads.duplicate_evidence import DUPLICATE_WEIGHTS, duplicate_score, score_sql
from crm.leads.intake import intake
from tests.factories import make_entity, make_user

SYSTEM = Actor.system("test")


async def _event(name: str) -> tuple[dict, list[dict]]:
    rows = await fetch("SELECT * FROM domain_event WHERE name = $1 ORDER BY id DESC LIMIT 1", name)
    event = dict(rows[0])
    deliveries = [
        dict(r)
        for r in await fetch(
            "SELECT subscriber, status, attempts, last_error, next_attempt_at IS NOT NULL AS due FROM "
            "event_delivery "
            "WHERE event = $1 ORDER BY subscriber",
            event["id"],
        )
    ]
    return event, deliveries


def _shape(event: dict) -> dict:
    """What must agree: which columns are set, and of which type."""
    return {k: type(v).__name__ for k, v in event.items() if k not in ("id",)}


async def test_every_inline_event_is_written_as_emit_writes_it():
    entity = await make_entity()
    user = await make_user(roles={"EU": ["sales_agent"]})
    async with transaction():
        await emit(
            SYSTEM,
            "case.created",
            entity_id=entity,
            subject_type="case",
            subject_id="CASE-000000",
            payload={"case_id": 0},
        )
    by_emit, emit_deliveries = await _event("case.created")
    async with transaction():
        await open_case(SYSTEM, "general", entity_id=entity, title="A case")
    by_case, case_deliveries = await _event("case.created")
    assert _shape(by_case) == _shape(by_emit) and case_deliveries == emit_deliveries
    assert [d["subscriber"] for d in case_deliveries] == sorted(subscribers_of("case.created"))
    async with transaction():
        await notify(
            user["id"],
            "case_assigned",
            {"reference": "CASE-1", "title": "t", "kind": "general", "priority": "normal"},
            "/cases/CASE-1",
            entity,
        )
        await emit(
            SYSTEM,
            "notification.created",
            entity_id=entity,
            subject_type="notification",
            subject_id="0",
            payload={"user_id": user["id"]},
        )
    by_emit, emit_deliveries = await _event("notification.created")
    rows = await fetch("SELECT * FROM domain_event WHERE name = 'notification.created' ORDER BY id")
    by_notify = dict(rows[0])
    assert _shape({**by_notify, "actor_id": None}) == _shape({**by_emit, "actor_id": None})
    assert len(emit_deliveries) == len(subscribers_of("notification.created"))
    await intake(
        SYSTEM,
        {"first_name": "Ann", "last_name": "Lee", "country": "GB", "phone": "+447911123456"},
        channel="api",
        fallback_entity_id=entity,
    )
    by_intake, intake_deliveries = await _event("lead.created")
    async with transaction():
        await emit(
            SYSTEM,
            "lead.created",
            entity_id=entity,
            subject_type="lead",
            subject_id="LD-000000",
            payload={"lead_id": 0},
        )
    by_emit, emit_deliveries = await _event("lead.created")
    assert _shape(by_intake) == _shape(by_emit) and intake_deliveries == emit_deliveries


async def test_the_intake_timeline_entry_is_written_as_add_activity_writes_it():
    entity = await make_entity()
    result = await intake(
        SYSTEM,
        {"first_name": "Ann", "last_name": "Lee", "country": "GB", "phone": "+447911123457"},
        channel="api",
        fallback_entity_id=entity,
    )
    async with transaction():
        await add_activity(result.lead["id"], SYSTEM, "note", "by hand", {"x": 1})
    rows = [
        dict(r)
        for r in await fetch("SELECT * FROM lead_activity WHERE lead = $1 ORDER BY id", result.lead["id"])
    ]
    inline, by_hand = next(r for r in rows if r["kind"] == "intake"), rows[-1]
    assert by_hand["kind"] == "note"
    assert {k: type(v) for k, v in inline.items()} == {k: type(v) for k, v in by_hand.items()}


async def test_the_import_score_in_sql_equals_duplicate_score():
    for n in (1, 2):
        for reasons in itertools.combinations(("email", "phone"), n):
            weights = [DUPLICATE_WEIGHTS[r] for r in reasons]
            sql = f"SELECT {score_sql('w')} AS score FROM unnest($1::float8[]) AS t(w)"  # noqa: S608
            in_sql = (await fetch(sql, weights))[0]["score"]
            assert float(in_sql) == duplicate_score(list(reasons)), reasons
