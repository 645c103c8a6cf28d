"""Cases: opening, atomic take-next under concurrency, SLA escalation, resolution rules, scope, timeline,
audit."""

import asyncio
import datetime as dt

import pytest

from crm.core.audit.tables import AuditRecord
from crm.core.cases import queries, service, work
from crm.core.cases.escalation import escalate_overdue
from crm.core.cases.tables import CaseEntry, WorkCase
from crm.core.context import Actor
from crm.core.db import transaction
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.events.tables import DomainEvent
from crm.core.org.tables import Team
from tests.factories import actor_for, make_user
from tests.http import StaffClient, text_of

SYSTEM = Actor.system("test")


async def make_team(
    entity_id: int, name: str = "Compliance EU", kind: str = "compliance", lead: int | None = None
) -> int:
    rows = await Team.insert(Team(entity=entity_id, name=name, kind=kind, lead=lead)).returning(Team.id)
    return rows[0]["id"]


async def open_cases(entity_id: int, queue_id: int, n: int, priority: int = 3) -> list[dict]:
    cases = []
    async with transaction():
        for i in range(n):
            cases.append(
                await service.open_case(
                    SYSTEM,
                    "alert",
                    entity_id=entity_id,
                    title=f"Alert {i}",
                    queue_id=queue_id,
                    priority=priority,
                    subjects=[("client", str(i), f"client {i}")],
                )
            )
    return cases


async def test_open_case_gets_a_reference_timeline_audit_and_event():
    officer = await make_user(roles={"EU": ["compliance_officer"]})
    entity = officer["entities"]["EU"]
    queue_id = await make_team(entity)
    async with transaction():
        case = await service.open_case(
            await actor_for(officer),
            "alert",
            entity_id=entity,
            title="Deposit spike",
            subjects=[("client", "42", "CL-000042")],
            body="tenfold in a month",
        )
    assert (
        case["reference"] == f"CASE-{case['id']:06d}" and case["queue_id"] == queue_id
    )  # the kind's default queue
    assert case["sla_due_at"] - dt.datetime.now(dt.UTC) < dt.timedelta(hours=4, minutes=1)
    audit = await AuditRecord.select().where(AuditRecord.case_id == case["reference"]).first()
    assert audit["action"] == "cases:case:open"
    assert (await DomainEvent.select().first())["name"] == "case.created"
    assert (await CaseEntry.select().first())["body"] == "tenfold in a month"


async def test_take_next_under_twenty_concurrent_agents_never_hands_out_a_case_twice():
    agents = [await make_user(roles={"EU": ["compliance_officer"]}) for _ in range(20)]
    entity = agents[0]["entities"]["EU"]
    queue_id = await make_team(entity)
    await open_cases(entity, queue_id, 12, priority=3)
    urgent = await open_cases(entity, queue_id, 3, priority=1)
    actors = [await actor_for(a) for a in agents]
    taken = await asyncio.gather(*(service.take_next(actor, queue_id) for actor in actors))
    got = [c["reference"] for c in taken if c is not None]
    assert len(got) == 15 and len(set(got)) == 15  # 15 cases, 20 agents: five got nothing, nobody shared
    assert taken.count(None) == 5
    assert {c["reference"] for c in urgent} <= set(got)
    owners = await WorkCase.select(WorkCase.assignee_id).where(WorkCase.assignee_id.is_not_null())
    assert len({o["assignee_id"] for o in owners}) == 15


async def test_take_next_prefers_higher_priority_then_older():
    agent = await make_user(roles={"EU": ["compliance_officer"]})
    entity = agent["entities"]["EU"]
    queue_id = await make_team(entity)
    normal = await open_cases(entity, queue_id, 2, priority=3)
    critical = await open_cases(entity, queue_id, 1, priority=1)
    actor = await actor_for(agent)
    assert (await service.take_next(actor, queue_id))["reference"] == critical[0]["reference"]
    assert (await service.take_next(actor, queue_id))["reference"] == normal[0]["reference"]


async def test_overdue_cases_escalate_once_to_the_team_lead():
    lead = await make_user(roles={"EU": ["compliance_officer"]})
    entity = lead["entities"]["EU"]
    queue_id = await make_team(entity, lead=lead["id"])
    cases = await open_cases(entity, queue_id, 2)
    await WorkCase.update({WorkCase.sla_due_at: dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)}).where(
        WorkCase.id == cases[0]["id"]
    )
    assert await escalate_overdue() == 1
    assert await escalate_overdue() == 0
    row = await AuditRecord.select().where(AuditRecord.action == "cases:case:escalate").first()
    assert row["case_id"] == cases[0]["reference"] and row["actor_label"] == "system:escalate_overdue_cases"
    event = (
        await DomainEvent.select().where(DomainEvent.name == "case.escalated").first().output(load_json=True)
    )
    assert event["payload"]["lead_id"] == lead["id"]
    actor = await actor_for(lead)
    q = await queries.queue(actor, queue_id)
    assert q["overdue"] == 1 and q["unassigned"] == 2


async def test_resolving_needs_a_resolution_and_closed_cases_stay_closed():
    agent = await make_user(roles={"EU": ["compliance_officer"]})
    entity = agent["entities"]["EU"]
    case = (await open_cases(entity, await make_team(entity), 1))[0]
    actor = await actor_for(agent)
    with pytest.raises(ValidationFailed):
        await work.set_status(actor, case["reference"], "resolved")
    await work.set_status(
        actor, case["reference"], "resolved", resolution="false_positive", reason="known payer"
    )
    row = await WorkCase.select().where(WorkCase.id == case["id"]).first()
    assert row["status"] == "resolved" and row["resolution"] == "false_positive" and row["resolved_at"]


async def test_cases_are_scoped_to_the_actors_entities():
    eu = await make_user(roles={"EU": ["compliance_officer"]})
    intl = await make_user(roles={"INTL": ["compliance_officer"]})
    support = await make_user(roles={"EU": ["support_agent"]})
    entity = eu["entities"]["EU"]
    case = (await open_cases(entity, await make_team(entity), 1))[0]
    with pytest.raises(NotFound):
        await queries.get_case(await actor_for(intl), case["reference"])
    with pytest.raises(NotFound):
        await work.add_note(await actor_for(intl), case["reference"], "hello")
    with pytest.raises(PermissionDenied):  # support may see cases but not work them
        await work.add_note(await actor_for(support), case["reference"], "hello")
    with pytest.raises(ValidationFailed):  # cannot hand a case to someone who may not work it
        await service.assign(await actor_for(eu), case["reference"], support["id"])


async def test_case_pages_take_next_and_the_audit_rows_that_name_the_case(app):
    officer = await make_user(roles={"EU": ["compliance_officer"]}, full_name="Olga Officer")
    other = await make_user(roles={"INTL": ["compliance_officer"]})
    entity = officer["entities"]["EU"]
    queue_id = await make_team(entity)
    case = (await open_cases(entity, queue_id, 1))[0]
    async with StaffClient(app) as http:
        await http.sign_in_as(officer)
        queue_page = await http.get(f"/cases/queues/{queue_id}")
        assert case["reference"] in queue_page.text and "1 waiting for someone" in text_of(queue_page)
        took = await http.post(f"/cases/queues/{queue_id}/take")
        assert took.headers["location"] == f"/cases/{case['reference']}"
        assert "Nothing is waiting" in text_of(
            await http.get((await http.post(f"/cases/queues/{queue_id}/take")).headers["location"])
        )
        await http.post(f"/cases/{case['reference']}/notes", {"body": "called the client"})
        no_resolution = await http.post(f"/cases/{case['reference']}/status", {"status": "resolved"})
        assert no_resolution.status_code == 422 and "How was it resolved" in text_of(no_resolution)
        page = text_of(await http.get(f"/cases/{case['reference']}"))
        assert "called the client" in page and "Olga Officer" in page
        assert "Case taken" in page and "Case note added" in page  # audit rows naming the case
        mine = text_of(await http.get("/cases"))
        assert case["reference"] in mine
        bad = await http.post("/cases/new", {"kind": "alert", "entity": entity, "title": "x"})
        assert bad.status_code == 422 and "3 to 300" in text_of(bad)
        created = await http.post(
            "/cases/new",
            {
                "kind": "general",
                "entity": entity,
                "title": "Client complaint",
                "priority": "2",
                "queue": queue_id,
                "body": "about spreads",
            },
        )
        assert created.status_code == 303 and created.headers["location"].startswith("/cases/CASE-")
        await http.sign_in_as(other)
        assert (await http.get(f"/cases/{case['reference']}")).status_code == 404
        assert case["reference"] not in (await http.get("/cases/all?status=")).text


async def test_attachments_go_on_the_timeline_and_downloads_are_scoped_and_audited(app):
    officer = await make_user(roles={"EU": ["compliance_officer"]})
    other = await make_user(roles={"INTL": ["compliance_officer"]})
    entity = officer["entities"]["EU"]
    case = (await open_cases(entity, await make_team(entity), 1))[0]
    ref = case["reference"]
    pdf = b"%PDF-1.4\n% proof of address\n"
    async with StaffClient(app) as http:
        await http.sign_in_as(officer)
        refused = await http.post(
            f"/cases/{ref}/attachments", files={"file": ("run.exe", b"MZ\x90\x00", "application/pdf")}
        )
        assert refused.status_code == 422 and "Attach a PDF, image" in text_of(refused)
        empty = await http.post(
            f"/cases/{ref}/attachments", files={"file": ("a.pdf", b"", "application/pdf")}
        )
        assert empty.status_code == 422
        ok = await http.post(
            f"/cases/{ref}/attachments",
            data={"note": "utility bill"},
            files={"file": ("../../bill 2026.pdf", pdf, "text/html")},
        )
        assert ok.status_code == 303
        page = await http.get(f"/cases/{ref}")
        assert "bill 2026.pdf" in page.text and "utility bill" in text_of(page)
        entry = await CaseEntry.select().where(CaseEntry.kind == "attachment").first().output(load_json=True)
        file_id = entry["data"]["file_id"]
        download = await http.get(f"/cases/{ref}/attachments/{file_id}")
        assert download.content == pdf and download.headers["content-type"].startswith("application/pdf")
        assert download.headers["x-content-type-options"] == "nosniff"
        assert "attachment;" in download.headers["content-disposition"]
        assert (await http.get(f"/cases/{ref}/attachments/{file_id + 1}")).status_code == 404
        # a file name beyond Latin-1 downloads as itself (RFC 5987), with an ASCII fallback
        await http.post(f"/cases/{ref}/attachments", files={"file": ("отчёт.pdf", pdf, "application/pdf")})
        entry = (
            await CaseEntry.select()
            .where(CaseEntry.kind == "attachment")
            .order_by(CaseEntry.id, ascending=False)
            .first()
            .output(load_json=True)
        )
        report = await http.get(f"/cases/{ref}/attachments/{entry['data']['file_id']}")
        assert report.status_code == 200 and report.content == pdf
        assert report.headers["content-disposition"] == (
            "attachment; filename=\"_____.pdf\"; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf"
        )
        await http.sign_in_as(other)
        assert (await http.get(f"/cases/{ref}/attachments/{file_id}")).status_code == 404
    actions = [
        r["action"] for r in await AuditRecord.select(AuditRecord.action).where(AuditRecord.case_id == ref)
    ]
    assert "cases:case:attach" in actions and "cases:attachment:download" in actions


def test_relative_times_read_as_people_say_them():
    import datetime as dt

    from crm.core.web import relative_time

    now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
    said = {
        dt.timedelta(seconds=20): "now",
        dt.timedelta(minutes=3, seconds=10): "in 3 min",
        dt.timedelta(minutes=-125): "2 h ago",
        dt.timedelta(days=4, hours=2): "in 4 days",
        dt.timedelta(days=-1): "1 day ago",
    }
    for offset, text in said.items():
        html = relative_time(now + offset, now)
        assert f">{text}</time>" in html and "UTC" in html, (offset, html)
    assert relative_time(None) == ""
