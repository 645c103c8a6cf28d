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
    assert sum(1 for lead in leads if lead["owner_id"]) >= 40  # someone is always on shift in the fallback pool
    fresh = await fetch("SELECT count(*) AS n FROM lead WHERE first_contact_at IS NULL")
    assert fresh[0]["n"] >= 3
    assert "0 sample leads" in await load_demo()  # idempotent
