"""Running the desk: pools and members, shifts and days off, intake sources with keys shown once, rotated and
disabled; every change audited."""

import httpx

from crm.core.audit.tables import AuditRecord
from crm.core.db import fetch
from crm.leads.tables import AgentSchedule, Pool, PoolMember
from tests.factories import make_user
from tests.http import StaffClient, text_of
from tests.leads.factories import make_pool, make_team, publish_rules, raw_lead


async def test_pools_members_and_shifts(app):
    tl = await make_user(roles={"EU": ["sales_team_lead"]})
    agent = await make_user(roles={"EU": ["sales_agent"]}, full_name="Nora Night")
    outsider = await make_user(roles={"EU": ["compliance_officer"]})
    entity = tl["entities"]["EU"]
    team = await make_team(entity)
    async with StaffClient(app) as http:
        await http.sign_in_as(tl)
        assert (
            await http.post("/leads/pools", {"entity": entity, "name": "", "sla_minutes": "x"})
        ).status_code == 422
        created = await http.post(
            "/leads/pools", {"entity": entity, "name": "Night desk", "team": team, "sla_minutes": "3"}
        )
        assert created.status_code == 303
        pool_id = int(created.headers["location"].rsplit("/", 1)[1])
        refused = await http.post(
            f"/leads/pools/{pool_id}/members", {"agent": outsider["id"], "weight": "2", "cap": "10"}
        )
        assert refused.status_code == 422 and "cannot work leads" in text_of(refused)
        bad = await http.post(
            f"/leads/pools/{pool_id}/members", {"agent": agent["id"], "weight": "500", "cap": "0"}
        )
        assert bad.status_code == 422
        ok = await http.post(
            f"/leads/pools/{pool_id}/members", {"agent": agent["id"], "weight": "2", "cap": "10"}
        )
        assert ok.status_code == 303
        page = text_of(await http.get(f"/leads/pools/{pool_id}"))
        assert "Nora Night" in page and "0 / 10" in page and "offline" in page
        wrong = await http.post(
            f"/leads/agents/{agent['id']}", {"timezone": "Europe/Madrid", "hours_fri": "22:00 to 6"}
        )
        assert wrong.status_code == 422 and "HH:MM-HH:MM" in text_of(wrong)
        shift = await http.post(
            f"/leads/agents/{agent['id']}",
            {
                "timezone": "Europe/Madrid",
                "hours_fri": "22:00-06:00",
                "hours_mon": "09:00-13:00, 14:00-18:00",
            },
        )
        assert shift.status_code == 303
        assert (
            await http.post(
                f"/leads/agents/{agent['id']}/days-off", {"day": "2026-12-25", "note": "Christmas"}
            )
        ).status_code == 303
        assert "Christmas" in text_of(await http.get(f"/leads/agents/{agent['id']}"))
        unknown = await http.post(
            f"/leads/pools/{pool_id}", {"name": "Night desk", "sla_minutes": "3", "weighting": "luck"}
        )
        assert unknown.status_code == 422 and "how the pool shares" in text_of(unknown)
        off = await http.post(
            f"/leads/pools/{pool_id}",
            {
                "name": "Night desk",
                "team": team,
                "sla_minutes": "3",
                "active_sent": "1",
                "weighting": "performance",
            },
        )
        assert off.status_code == 303
        assert "×1.00" in text_of(await http.get(f"/leads/pools/{pool_id}"))
    saved = await Pool.select().where(Pool.id == pool_id).first()
    assert saved["active"] is False and saved["weighting"] == "performance"
    member = await PoolMember.select().first()
    assert (member["weight"], member["max_open_leads"]) == (2, 10)
    schedule = await AgentSchedule.select().first().output(load_json=True)
    assert schedule["hours"]["fri"] == [["22:00", "06:00"]] and len(schedule["hours"]["mon"]) == 2
    actions = {r["action"] for r in await AuditRecord.select(AuditRecord.action)}
    assert {
        "leads:pool:create",
        "leads:pool:member",
        "leads:agent:schedule",
        "leads:agent:day_off",
        "leads:pool:update",
    } <= actions


async def test_sources_show_the_key_once_rotate_and_disable(app):
    tl = await make_user(roles={"EU": ["sales_team_lead"]})
    entity = tl["entities"]["EU"]
    await publish_rules("routing", entity, {"rules": []})
    async with StaffClient(app) as http:
        await http.sign_in_as(tl)
        created = await http.post(
            "/leads/sources",
            {"name": "Landing pages", "kind": "api", "entity": entity, "source_label": "landing"},
        )
        key = (
            created.text.split('data-testid="credential"')[1].split("<code data-raw>")[1].split("</code>")[0]
        )
        assert key.startswith("crmk_") and key not in (await http.get("/leads/sources")).text
        source_id = (await fetch("SELECT id FROM lead_source"))[0]["id"]
        api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver")
        assert (
            await api.post("/api/v1/leads", json=raw_lead(1), headers={"Authorization": f"Bearer {key}"})
        ).status_code == 201
        rotated = await http.post(f"/leads/sources/{source_id}/rotate", {"reason": "leaked in a screenshot"})
        new_key = (
            rotated.text.split('data-testid="credential"')[1].split("<code data-raw>")[1].split("</code>")[0]
        )
        assert (
            await api.post("/api/v1/leads", json=raw_lead(2), headers={"Authorization": f"Bearer {key}"})
        ).status_code == 401
        assert (
            await api.post("/api/v1/leads", json=raw_lead(3), headers={"Authorization": f"Bearer {new_key}"})
        ).status_code == 201
        assert (await http.post(f"/leads/sources/{source_id}/disable", {"reason": ""})).status_code == 422
        assert (
            await http.post(f"/leads/sources/{source_id}/disable", {"reason": "partner ended"})
        ).status_code == 303
        assert (
            await api.post("/api/v1/leads", json=raw_lead(4), headers={"Authorization": f"Bearer {new_key}"})
        ).status_code == 401
        await api.aclose()
    rows = await fetch("SELECT api_key_hash FROM lead_source")
    assert new_key not in str(rows)  # only the hash is kept


async def test_performance_is_recent_conversion_against_the_pool_and_steers_a_performance_pool(app):
    from crm.core.context import Actor
    from crm.core.db import fetch
    from crm.leads import service
    from crm.leads.performance import refresh_performance

    tl = await make_user(roles={"EU": ["sales_team_lead"]})
    strong, weak, new = [
        await make_user(roles={"EU": ["sales_agent"]}, full_name=n) for n in ("Strong", "Weak", "New")
    ]
    entity = tl["entities"]["EU"]
    pool = await make_pool(
        entity,
        "Desk",
        [(strong["id"], 1, 500), (weak["id"], 1, 500), (new["id"], 1, 500)],
        team_id=await make_team(entity),
    )
    await publish_rules("routing", entity, {"rules": [], "fallback_pool_id": pool})
    intake = Actor.system("t")
    for n in range(40):  # 20 leads each for Strong and Weak (New is paused), then outcomes
        await fetch(
            "UPDATE lead_pool_member SET weight = CASE WHEN agent_id = $1 THEN 0 ELSE 1 END", new["id"]
        )
        await service.intake(intake, raw_lead(n), channel="api")
    await fetch(
        "UPDATE lead SET status = 'registered' WHERE id IN (SELECT id FROM lead WHERE owner_id = $1 LIMIT "
        "12)",
        strong["id"],
    )
    await fetch(
        "UPDATE lead SET status = 'registered' WHERE id IN (SELECT id FROM lead WHERE owner_id = $1 LIMIT 4)",
        weak["id"],
    )
    assert await refresh_performance() == 2  # New has too few leads to judge: stays 1
    factors = {
        r["agent_id"]: r["performance"]
        for r in await fetch("SELECT agent_id, performance FROM lead_pool_member")
    }
    assert factors == {
        strong["id"]: 1.5,
        weak["id"]: 0.5,
        new["id"]: 1.0,
    }  # 60 % and 20 % against a 40 % average
    assert await refresh_performance() == 0  # nothing changed, nothing written
    await fetch("UPDATE lead_pool_member SET weight = 1, assigned_count = 0")
    await fetch("UPDATE lead_pool SET weighting = 'performance'")
    owners = [(await service.intake(intake, raw_lead(100 + n), channel="api")).decision for n in range(30)]
    given = {a: sum(d.agent_id == a for d in owners) for a in (strong["id"], weak["id"], new["id"])}
    assert given == {strong["id"]: 15, weak["id"]: 5, new["id"]: 10}  # shares 1.5 : 0.5 : 1
    assert "performance 1.50" in next(d.explanation for d in owners if d.agent_id == strong["id"])
