"""Running the desk: pools and members, shifts and days off, intake sources with keys shown once, rotated and
disabled; every change audited."""

import httpx

from crm.core.audit.tables import AuditRecord
from crm.core.db import fetch
from crm.leads.tables import AgentSchedule, Pool, PoolMember
from tests.factories import make_user
from tests.http import StaffClient, text_of
from tests.leads.factories import make_team, publish_rules, raw_lead


async def test_pools_members_and_shifts(app):
    tl = await make_user(roles={"EU": ["sales_team_lead"]})
    agent = await make_user(roles={"EU": ["sales_agent"]}, full_name="Nora Night")
    outsider = await make_user(roles={"EU": ["compliance_officer"]})
    entity = tl["entities"]["EU"]
    team = await make_team(entity)
    async with StaffClient(app) as http:
        await http.sign_in_as(tl)
        assert (await http.post("/leads/pools", {"entity": entity, "name": "", "sla_minutes": "x"})).status_code == 422
        created = await http.post("/leads/pools", {"entity": entity, "name": "Night desk", "team": team, "sla_minutes": "3"})
        assert created.status_code == 303
        pool_id = int(created.headers["location"].rsplit("/", 1)[1])
        refused = await http.post(f"/leads/pools/{pool_id}", {"action": "member", "agent": outsider["id"], "weight": "2", "cap": "10"})
        assert refused.status_code == 422 and "cannot work leads" in text_of(refused)
        bad = await http.post(f"/leads/pools/{pool_id}", {"action": "member", "agent": agent["id"], "weight": "500", "cap": "0"})
        assert bad.status_code == 422
        ok = await http.post(f"/leads/pools/{pool_id}", {"action": "member", "agent": agent["id"], "weight": "2", "cap": "10"})
        assert ok.status_code == 303
        page = text_of(await http.get(f"/leads/pools/{pool_id}"))
        assert "Nora Night" in page and "0 / 10" in page and "offline" in page
        wrong = await http.post(f"/leads/agents/{agent['id']}", {"timezone": "Europe/Madrid", "hours_fri": "22:00 to 6"})
        assert wrong.status_code == 422 and "HH:MM-HH:MM" in text_of(wrong)
        shift = await http.post(f"/leads/agents/{agent['id']}", {"timezone": "Europe/Madrid",
                                                                 "hours_fri": "22:00-06:00", "hours_mon": "09:00-13:00, 14:00-18:00"})
        assert shift.status_code == 303
        assert (await http.post(f"/leads/agents/{agent['id']}", {"action": "day_off", "day": "2026-12-25",
                                                                 "note": "Christmas"})).status_code == 303
        assert "Christmas" in text_of(await http.get(f"/leads/agents/{agent['id']}"))
        off = await http.post(f"/leads/pools/{pool_id}", {"name": "Night desk", "team": team, "sla_minutes": "3",
                                                          "active_sent": "1"})
        assert off.status_code == 303
    assert (await Pool.select().where(Pool.id == pool_id).first())["active"] is False
    member = await PoolMember.select().first()
    assert (member["weight"], member["max_open_leads"]) == (2, 10)
    schedule = await AgentSchedule.select().first().output(load_json=True)
    assert schedule["hours"]["fri"] == [["22:00", "06:00"]] and len(schedule["hours"]["mon"]) == 2
    actions = {r["action"] for r in await AuditRecord.select(AuditRecord.action)}
    assert {"leads:pool:create", "leads:pool:member", "leads:agent:schedule", "leads:agent:day_off", "leads:pool:update"} <= actions


async def test_sources_show_the_key_once_rotate_and_disable(app):
    tl = await make_user(roles={"EU": ["sales_team_lead"]})
    entity = tl["entities"]["EU"]
    await publish_rules("routing", entity, {"rules": []})
    async with StaffClient(app) as http:
        await http.sign_in_as(tl)
        created = await http.post("/leads/sources", {"name": "Landing pages", "kind": "api", "entity": entity,
                                                     "source_label": "landing"})
        key = created.text.split('data-testid="credential"')[1].split("<code>")[1].split("</code>")[0]
        assert key.startswith("crmk_") and key not in (await http.get("/leads/sources")).text
        source_id = (await fetch("SELECT id FROM lead_source"))[0]["id"]
        api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver")
        assert (await api.post("/api/v1/leads", json=raw_lead(1), headers={"Authorization": f"Bearer {key}"})).status_code == 201
        rotated = await http.post(f"/leads/sources/{source_id}", {"action": "rotate", "reason": "leaked in a screenshot"})
        new_key = rotated.text.split('data-testid="credential"')[1].split("<code>")[1].split("</code>")[0]
        assert (await api.post("/api/v1/leads", json=raw_lead(2), headers={"Authorization": f"Bearer {key}"})).status_code == 401
        assert (await api.post("/api/v1/leads", json=raw_lead(3), headers={"Authorization": f"Bearer {new_key}"})).status_code == 201
        assert (await http.post(f"/leads/sources/{source_id}", {"action": "disable", "reason": ""})).status_code == 422
        assert (await http.post(f"/leads/sources/{source_id}", {"action": "disable", "reason": "partner ended"})).status_code == 303
        assert (await api.post("/api/v1/leads", json=raw_lead(4), headers={"Authorization": f"Bearer {new_key}"})).status_code == 401
        await api.aclose()
    rows = await fetch("SELECT api_key_hash FROM lead_source")
    assert new_key not in str(rows)  # only the hash is kept
