"""Intake and routing against the database: decisions explained, the follow-up task in the agent's queue,
notifications, capacity under concurrency, fallback and the unassigned queue, SLA breach reassignment."""

import asyncio
import datetime as dt

import pytest

from crm.core.audit.tables import AuditRecord
from crm.core.cases.escalation import escalate_overdue
from crm.core.cases.tables import WorkCase
from crm.core.context import Actor
from crm.core.db import fetch
from crm.core.errors import ValidationFailed
from crm.core.notifications.tables import Notification
from crm.leads import assignment, service
from crm.leads.tables import OPEN_LEAD_STATUSES, Lead, LeadStatus, RoutingDecision, SlaBreach
from tests.factories import make_user
from tests.leads.factories import assert_loads_match, make_pool, make_team, publish_rules, raw_lead

INTAKE = Actor.system("test_intake")


@pytest.fixture
async def desk():
    lead = await make_user(roles={"EU": ["sales_team_lead"]}, full_name="Tess Lead")
    agents = [await make_user(roles={"EU": ["sales_agent"]}, full_name=f"Agent {c}") for c in "AB"]
    entity = lead["entities"]["EU"]
    team = await make_team(entity, lead=lead["id"])
    return {"entity": entity, "team": team, "lead": lead, "agents": agents}


async def test_a_lead_is_routed_with_an_explanation_a_task_and_a_notification(desk):
    a, b = desk["agents"]
    spanish = await make_pool(
        desk["entity"], "LatAm Spanish", [(a["id"], 1, 50)], team_id=desk["team"], sla_seconds=120
    )
    general = await make_pool(desk["entity"], "General", [(b["id"], 1, 50)], team_id=desk["team"])
    await publish_rules(
        "routing",
        desk["entity"],
        {
            "rules": [
                {
                    "name": "LatAm Spanish",
                    "when": {"regions": ["LATAM"], "languages": ["es"]},
                    "pool_id": spanish,
                }
            ],
            "fallback_pool_id": general,
        },
    )
    await publish_rules(
        "scoring",
        desk["entity"],
        {"rules": [{"name": "Full form", "field": "form_complete", "op": "true", "points": 40}]},
    )
    result = await service.intake(
        INTAKE,
        raw_lead(1, country="Mexico", phone="+52 55 1234 5678", language="es", source="facebook"),
        channel="api",
    )
    lead = await Lead.select().where(Lead.id == result.lead["id"]).first()
    assert lead["owner_id"] == a["id"] and lead["pool_id"] == spanish and lead["score"] == 40
    assert lead["phone"] == "+525512345678" and lead["country"] == "MX"
    decision = await RoutingDecision.select().first().output(load_json=True)
    assert decision["matched"] == "LatAm Spanish" and "Agent A" in decision["explanation"]
    assert decision["candidates"][0]["eligible"] is True
    case = await WorkCase.select().where(WorkCase.id == lead["case_id"]).first()
    assert (
        case["kind"] == "lead_followup"
        and case["assignee_id"] == a["id"]
        and case["queue_id"] == desk["team"]
    )
    assert (
        dt.timedelta(seconds=100) < case["sla_due_at"] - dt.datetime.now(dt.UTC) <= dt.timedelta(seconds=120)
    )
    note = await Notification.select().where(Notification.user_id == a["id"]).first()
    assert (
        note["title"] == f"New lead {lead['reference']}: call within 2 min" and "Mexico" not in note["body"]
    )
    other = await service.intake(INTAKE, raw_lead(2, country="DE"), channel="api")
    assert other.decision.agent_id == b["id"] and other.decision.matched.startswith("fallback")
    audit = await AuditRecord.select().where(AuditRecord.target_id == lead["reference"]).first()
    assert (
        audit["action"] == "leads:lead:create" and audit["case_id"] == case["reference"]
    )  # one row names both
    events = await fetch(
        "SELECT e.name, e.payload, array_agg(d.subscriber) AS subscribers FROM domain_event e "
        "LEFT JOIN event_delivery d ON d.event = e.id WHERE e.subject_id = ANY($1::text[]) "
        "GROUP BY e.id ORDER BY e.id",
        [lead["reference"], case["reference"]],
    )
    assert [e["name"] for e in events] == ["case.created", "lead.created", "lead.routed"]
    assert all("live.leads" in e["subscribers"] for e in events[1:])
    assert f'"agent_id": {a["id"]}' in events[2]["payload"] and '"trigger": "intake"' in events[2]["payload"]


async def test_bad_input_lists_every_field_and_saves_nothing(desk):
    with pytest.raises(ValidationFailed) as caught:
        await service.intake(INTAKE, {"email": "x", "phone": "1", "country": "Atlantis"}, channel="api")
    assert set(caught.value.field_errors) == {"email", "phone", "country", "first_name"}
    assert await Lead.count() == 0


async def test_a_hundred_leads_at_once_spread_by_weight_and_never_over_capacity(desk):
    a, b = desk["agents"]
    pool = await make_pool(
        desk["entity"], "Weighted", [(a["id"], 3, 60), (b["id"], 1, 60)], team_id=desk["team"]
    )
    await publish_rules("routing", desk["entity"], {"rules": [], "fallback_pool_id": pool})
    gate = asyncio.Semaphore(12)

    async def one(n: int):
        async with gate:
            return await service.intake(INTAKE, raw_lead(n), channel="api")

    results = await asyncio.gather(*(one(n) for n in range(100)))
    owners = [r.decision.agent_id for r in results]
    assert owners.count(a["id"]) + owners.count(b["id"]) == 100  # every lead routed
    assert (
        40 <= owners.count(b["id"]) <= owners.count(a["id"]) <= 60
    )  # nobody over capacity; A, weighted 3, leads
    rows = await fetch("SELECT owner_id, count(*) AS n FROM lead GROUP BY owner_id")
    assert {r["owner_id"] for r in rows} == {a["id"], b["id"]} and all(r["n"] <= 60 for r in rows), rows
    more = await asyncio.gather(*(one(n) for n in range(100, 130)))
    assert sum(r.decision.agent_id is not None for r in more) == 20  # up to both caps (60 + 60), never beyond
    waiting = [r for r in more if r.decision.agent_id is None]
    assert len(waiting) == 10 and "nobody eligible" in waiting[0].decision.explanation
    rows = await fetch(
        "SELECT owner_id, count(*) AS n FROM lead WHERE owner_id IS NOT NULL GROUP BY owner_id"
    )
    assert {r["owner_id"]: r["n"] for r in rows} == {a["id"]: 60, b["id"]: 60}
    await assert_loads_match()


async def test_capacity_holds_across_pools_routing_at_once(desk):
    a, b = desk["agents"]
    europe = await make_pool(
        desk["entity"], "Europe", [(a["id"], 1, 5), (b["id"], 1, 50)], team_id=desk["team"]
    )
    asia = await make_pool(desk["entity"], "Asia", [(a["id"], 5, 5)], team_id=desk["team"])
    await publish_rules(
        "routing",
        desk["entity"],
        {
            "rules": [{"name": "Asia", "when": {"countries": ["SG"]}, "pool_id": asia}],
            "fallback_pool_id": europe,
        },
    )

    async def one(n: int):
        return await service.intake(
            INTAKE,
            raw_lead(
                n, country="SG" if n % 2 else "GB", phone=f"+65 8123 {n:04d}" if n % 2 else f"+447911{n:06d}"
            ),
            channel="api",
        )

    await asyncio.gather(*(one(n) for n in range(24)))
    assert (
        await Lead.count().where(Lead.owner_id == a["id"]) == 5
    )  # one cap, whichever pool's routing got there
    await assert_loads_match()


async def test_the_open_lead_count_follows_every_change(desk):
    rows = await fetch(
        "SELECT s, lead_counts_as_open(s, 1, NULL) AS open FROM unnest($1::text[]) AS s",
        [str(s.value) for s in LeadStatus],
    )
    assert {r["s"] for r in rows if r["open"]} == set(OPEN_LEAD_STATUSES)  # the trigger's list is the app's
    a, b = desk["agents"]
    pool = await make_pool(desk["entity"], "Main", [(a["id"], 1, 50), (b["id"], 1, 50)], team_id=desk["team"])
    await publish_rules("routing", desk["entity"], {"rules": [], "fallback_pool_id": pool})
    leads = [(await service.intake(INTAKE, raw_lead(n), channel="api")).lead for n in range(6)]
    await assert_loads_match()
    await fetch("UPDATE lead SET status = 'lost', lost_reason = 'other' WHERE id = $1", leads[0]["id"])
    await fetch("UPDATE lead SET owner_id = $2 WHERE id = $1", leads[1]["id"], b["id"])
    await fetch("UPDATE lead SET merged_into_id = $2 WHERE id = $1", leads[2]["id"], leads[3]["id"])
    await fetch("UPDATE lead SET status = 'funded' WHERE id = $1", leads[3]["id"])
    await fetch("UPDATE lead SET status = 'new' WHERE id = $1", leads[3]["id"])
    await fetch("DELETE FROM lead_duplicate")
    await fetch("DELETE FROM routing_decision WHERE lead = $1", leads[4]["id"])
    await fetch("DELETE FROM lead_activity WHERE lead = $1", leads[4]["id"])
    await fetch("DELETE FROM lead WHERE id = $1", leads[4]["id"])
    await assert_loads_match()


async def test_one_after_another_leads_follow_the_weights_exactly(desk):
    a, b = desk["agents"]
    pool = await make_pool(
        desk["entity"], "Weighted", [(a["id"], 3, 100), (b["id"], 1, 100)], team_id=desk["team"]
    )
    await publish_rules("routing", desk["entity"], {"rules": [], "fallback_pool_id": pool})
    owners = [(await service.intake(INTAKE, raw_lead(n), channel="api")).decision.agent_id for n in range(40)]
    assert owners.count(a["id"]) == 30 and owners.count(b["id"]) == 10


async def test_nobody_eligible_falls_back_then_waits_unassigned_and_the_team_lead_hears(desk):
    a, b = desk["agents"]
    fallback = await make_pool(
        desk["entity"], "Fallback", [(b["id"], 1, 50)], team_id=desk["team"], presence="offline"
    )
    main = await make_pool(
        desk["entity"], "Main", [(a["id"], 1, 50)], team_id=desk["team"], fallback=fallback, presence="away"
    )
    await publish_rules("routing", desk["entity"], {"rules": [], "fallback_pool_id": main})
    result = await service.intake(INTAKE, raw_lead(1), channel="form")
    assert result.decision.agent_id is None
    assert (
        "Pool Main: nobody eligible" in result.decision.explanation
        and "Pool Fallback" in result.decision.explanation
    )
    case = await WorkCase.select().where(WorkCase.id == result.lead["case_id"]).first()
    assert case["assignee_id"] is None and case["queue_id"] == desk["team"]
    note = await Notification.select().where(Notification.user_id == desk["lead"]["id"]).first()
    assert "nobody eligible" in note["title"]


@pytest.mark.parametrize("failure", ["python", "database"])
async def test_a_routing_failure_keeps_the_lead_unassigned_with_an_alert(desk, monkeypatch, failure):
    async def broken(*args, **kwargs):
        if failure == "database":  # an SQL error aborts the whole transaction, not only routing
            await fetch("SELECT 1 / 0")
        raise RuntimeError("rules store unreachable")

    monkeypatch.setattr(assignment, "decide", broken)
    result = await service.intake(INTAKE, raw_lead(1), channel="api")
    lead = await Lead.select().where(Lead.id == result.lead["id"]).first()
    assert lead is not None and lead["owner_id"] is None
    alert = await WorkCase.select().where(WorkCase.kind == "alert").first()
    assert alert and "could not be routed" in alert["title"]
    expected = "DivisionByZeroError" if failure == "database" else "rules store unreachable"
    assert expected in (await RoutingDecision.select().first())["explanation"]
    assert (
        await Lead.count() == 1
        and await AuditRecord.count().where(AuditRecord.action == "leads:lead:create") == 1
    )


async def test_overrides_returning_client_and_ib_manager(desk):
    a, b = desk["agents"]
    manager = await make_user(roles={"EU": ["sales_agent"]}, full_name="Rita Manager")
    pool = await make_pool(desk["entity"], "General", [(a["id"], 1, 50)], team_id=desk["team"])
    await publish_rules("routing", desk["entity"], {"rules": [], "fallback_pool_id": pool})
    await fetch(
        "INSERT INTO referral_code (code, entity_id, partner_name, manager_id, active) "
        "VALUES ('IB42', $1, 'Partner 42', $2, true)",
        desk["entity"],
        manager["id"],
    )
    await fetch(
        "INSERT INTO agent_presence (agent_id, status, updated_at) VALUES ($1, 'available', now()), "
        "($2, 'available', now())",
        manager["id"],
        b["id"],
    )
    ib = await service.intake(INTAKE, raw_lead(1, ib_code="ib42"), channel="api")
    assert ib.decision.agent_id == manager["id"] and "relationship manager" in ib.decision.matched
    first = await service.intake(INTAKE, raw_lead(2), channel="api")
    assert first.decision.agent_id == a["id"]
    await fetch("UPDATE lead SET owner_id = $1 WHERE id = $2", b["id"], first.lead["id"])
    again = await service.intake(INTAKE, raw_lead(2), channel="form")  # same e-mail and phone: returning
    assert again.decision.agent_id == b["id"] and "previous owner" in again.decision.matched
    dupes = await fetch("SELECT score, reasons FROM lead_duplicate WHERE lead = $1", again.lead["id"])
    assert dupes and round(dupes[0]["score"], 3) == 0.8


async def test_an_sla_breach_reassigns_to_the_next_agent_and_tells_the_team_lead(desk):
    a, b = desk["agents"]
    pool = await make_pool(desk["entity"], "Pair", [(a["id"], 5, 50), (b["id"], 1, 50)], team_id=desk["team"])
    await publish_rules("routing", desk["entity"], {"rules": [], "fallback_pool_id": pool})
    result = await service.intake(INTAKE, raw_lead(1), channel="api")
    assert result.decision.agent_id == a["id"]
    await WorkCase.update({WorkCase.sla_due_at: dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}).where(
        WorkCase.id == result.lead["case_id"]
    )
    assert await escalate_overdue() == 1
    lead = await Lead.select().where(Lead.id == result.lead["id"]).first()
    assert lead["owner_id"] == b["id"]
    case = await WorkCase.select().where(WorkCase.id == lead["case_id"]).first()
    assert case["assignee_id"] == b["id"] and case["escalated_at"] is None
    assert case["sla_due_at"] > dt.datetime.now(dt.UTC)
    breach = await SlaBreach.select().first()
    assert breach["agent_id"] == a["id"] and breach["reassigned_to_id"] == b["id"]
    note = await Notification.select().where(Notification.user_id == desk["lead"]["id"]).first()
    assert "missed the 5-minute SLA" in note["title"] and "Reassigned to Agent B" in note["body"]
    # B breaches too: A already breached on this lead, so nobody is left and the case stops re-routing
    await WorkCase.update({WorkCase.sla_due_at: dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}).where(
        WorkCase.id == lead["case_id"]
    )
    await escalate_overdue()
    lead = await Lead.select().where(Lead.id == result.lead["id"]).first()
    assert lead["owner_id"] is None
    assert (await WorkCase.select().where(WorkCase.id == lead["case_id"]).first())["escalated_at"] is not None
    await assert_loads_match()


async def test_first_contact_resolves_the_follow_up_and_stops_the_clock(desk):
    a, _ = desk["agents"]
    pool = await make_pool(desk["entity"], "Solo", [(a["id"], 1, 50)], team_id=desk["team"])
    await publish_rules("routing", desk["entity"], {"rules": [], "fallback_pool_id": pool})
    result = await service.intake(INTAKE, raw_lead(1), channel="api")
    from tests.factories import actor_for

    agent = await actor_for(a)
    await service.log_call(
        agent, result.lead["reference"], outcome="no_answer", duration_s=0, started_at=dt.datetime.now(dt.UTC)
    )
    assert (await Lead.select().where(Lead.id == result.lead["id"]).first())["first_contact_at"] is None
    await service.set_status(agent, result.lead["reference"], "contacted")
    lead = await Lead.select().where(Lead.id == result.lead["id"]).first()
    assert lead["first_contact_at"] is not None
    case = await WorkCase.select().where(WorkCase.id == lead["case_id"]).first()
    assert case["status"] == "resolved" and case["resolution"] == "done"
    with pytest.raises(ValidationFailed):
        await service.set_status(agent, result.lead["reference"], "lost")  # needs a reason
    await service.set_status(agent, result.lead["reference"], "lost", lost_reason="not_interested")
