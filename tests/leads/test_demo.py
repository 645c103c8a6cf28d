"""The demo seeds desks whose routing is visible: pools, shifts, rules, sources and routed sample leads."""

from crm.core.db import fetch
from crm.demo import load_demo
from crm.leads.tables import Lead, Pool


async def test_demo_seeds_routed_leads_once():
    summary = await load_demo()
    assert "sample leads added" in summary
    assert await Pool.count() == 6
    leads = await Lead.select()
    assert len(leads) >= 40
    unrouted = [lead["reference"] for lead in leads if not lead["owner_id"]]
    assert unrouted == []  # whatever the hour: every desk has someone without a shift pattern
    fresh = await fetch("SELECT count(*) AS n FROM lead WHERE first_contact_at IS NULL")
    assert fresh[0]["n"] >= 3
    assert "0 sample leads" in await load_demo()  # idempotent
