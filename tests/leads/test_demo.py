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


async def test_the_readme_register_walkthrough_reaches_the_right_desks(app):
    """README: a Spanish speaker from Mexico goes to the LatAm pool, one from the UAE to MENA, through the
    public form (no intake source) as through the REST intake."""
    import re

    from tests.http import StaffClient

    await load_demo()
    people = (
        ("Ana", "Ruiz", "+52 55 1234 5678", "MX", "es", "LatAm"),
        ("Omar", "Haddad", "+971 50 123 4567", "AE", "ar", "MENA"),
    )
    async with StaffClient(app) as http:
        for first, last, phone, country, language, pool in people:
            form = {"first_name": first, "last_name": last, "phone": phone, "country": country}
            # the form shows the privacy notice of the entity the country leads to, as a browser gets it
            shown = await http.get(f"/register/consent?country={country}&brand=aurora")
            notice_id = re.search(r'name="notice_id" value="(\d+)"', shown.text).group(1)
            consent = {"consent": "on", "notice_id": notice_id}
            response = await http.post("/register", {**form, "language": language, **consent})
            assert response.status_code == 200, response.text[:300]
            reference = re.search(r"LD-\d+", response.text).group(0)
            row = (
                await fetch(
                    """SELECT e.code, p.name AS pool FROM lead l JOIN legal_entity e ON e.id = l.entity_id
                       LEFT JOIN lead_pool p ON p.id = l.pool_id WHERE l.reference = $1""",
                    reference,
                )
            )[0]
            # the desk's pool while its shift is on, the international fallback outside its hours
            assert row["code"] == "INTL", (first, dict(row))
            assert pool in (row["pool"] or "") or row["pool"] == "International fallback", (first, dict(row))
