"""The redesigned screens in a real browser: the routing rules reorder by keyboard (and drag), lists become
chips; the audit screen's pickers suggest names as one types; the dashboard draws its charts; the roles
matrix shows every role."""

from playwright.async_api import expect

from crm.core.audit.service import record_audit
from crm.core.context import Actor
from crm.core.db import transaction
from crm.core.org.tables import Role
from crm.leads.figures import refresh_figures
from crm.leads.rulesets import as_json
from crm.leads.tables import RuleSet
from tests.factories import make_user
from tests.leads.factories import make_pool, make_team, publish_rules


async def test_routing_rules_reorder_with_the_arrows_and_show_lists_as_chips(new_page):
    lead = await make_user(roles={"EU": ["sales_team_lead"]}, full_name="Tess Lead")
    entity = lead["entities"]["EU"]
    team = await make_team(entity, lead=lead["id"])
    a = await make_pool(entity, "Spanish desk", [], team_id=team)
    b = await make_pool(entity, "Arabic desk", [], team_id=team)
    rules = [
        {"name": "Spanish", "pool_id": a, "when": {"languages": ["es"]}},
        {"name": "Arabic", "pool_id": b, "when": {"languages": ["ar"], "regions": ["MENA"]}},
    ]
    await publish_rules("routing", entity, {"rules": rules, "fallback_pool_id": a})
    page = await new_page(lead)
    await page.goto(f"/leads/routing/routing/{entity}")
    summaries = page.get_by_test_id("rule-summary")
    await expect(summaries.nth(1)).to_contain_text("Arabic: region Middle East & North Africa language ar")
    await expect(page.locator("#r0_languages + .tag-chips")).to_contain_text("es")
    await page.get_by_role("button", name="Move rule 2 up").click()
    await expect(page.locator("[data-rule]").first.locator("input[data-position]")).to_have_value("1")
    await expect(page.locator("[data-rule]").first.locator("input[name$='_name']")).to_have_value("Arabic")
    await page.locator("#r0_languages").fill("es, pt")
    await expect(page.locator("#r0_languages + .tag-chips")).to_contain_text("pt")
    await page.get_by_role("button", name="Remove pt").click()
    await expect(page.locator("#r0_languages")).to_have_value("es")
    await page.get_by_role("button", name="Save draft").click()
    await expect(page.get_by_test_id("rule-summary").first).to_contain_text("Arabic")
    draft = await RuleSet.select().where((RuleSet.entity_id == entity) & (RuleSet.status == "draft")).first()
    rules = as_json(draft["rules"])
    names = [r["name"] for r in (rules["rules"] if isinstance(rules, dict) else rules)]
    assert names == ["Arabic", "Spanish"], names


async def test_audit_pickers_suggest_names_as_one_types(new_page):
    auditor = await make_user(roles={"EU": ["auditor"]}, full_name="Aisha Auditor")
    officer = await make_user(
        "olga@test.example", roles={"EU": ["compliance_officer"]}, full_name="Olga Officer"
    )
    async with transaction():
        await record_audit(
            Actor(user_id=officer["id"], label="Olga Officer <olga@test.example>"),
            "clients:pii:reveal",
            target_type="client",
            target_id="7",
            entity_id=auditor["entities"]["EU"],
            reason="checking a deposit",
        )
    page = await new_page(auditor)
    await page.goto("/audit")
    await page.get_by_label("Staff member").press_sequentially("olg", delay=50)
    await expect(page.locator("#dl-actor option")).to_have_count(1)
    assert await page.locator("#dl-actor option").get_attribute("value") == "Olga Officer <olga@test.example>"
    await page.get_by_label("Staff member").fill("Olga Officer <olga@test.example>")
    await page.get_by_label("Action").select_option(label="Client personal data revealed")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("#results")).to_contain_text("checking a deposit")
    await expect(page.locator("#results")).to_contain_text("Client personal data revealed")


async def test_dashboard_charts_and_the_whole_roles_matrix(new_page):
    lead = await make_user(roles={"EU": ["sales_team_lead"], "INTL": ["sales_team_lead"]})
    await refresh_figures()
    page = await new_page(lead)
    await page.goto("/leads/dashboard")
    for chart in ("speed-chart", "breach-chart", "conversion-chart", "leads-chart"):
        await expect(page.get_by_test_id(chart)).to_be_visible()
    admin = await make_user(roles={"EU": ["super_admin"]})
    page = await new_page(admin)
    await page.set_viewport_size({"width": 1366, "height": 768})
    await page.goto("/admin/roles")
    for role in await Role.select(Role.name):
        header = page.get_by_role("columnheader", name=role["name"])
        await expect(header).to_be_in_viewport()
