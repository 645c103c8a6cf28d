"""Routing rules in a real browser: a team lead edits the draft and sends it for approval, a colleague
approves it (the maker cannot); a replay of past leads runs in a real worker with live progress and shows the
distribution; pools, shifts and intake sources are edited on their pages."""

from playwright.async_api import expect

from crm.core.approvals.tables import ApprovalRequest
from crm.core.context import Actor
from crm.leads import service
from crm.leads.tables import AgentSchedule, RuleSet
from tests.factories import make_user
from tests.leads.factories import make_pool, make_team, publish_rules, raw_lead


async def test_rules_drafted_approved_replayed_and_pools_edited(new_page, live_worker):
    maker = await make_user(roles={"EU": ["sales_team_lead"]}, full_name="Mia Maker")
    checker = await make_user(roles={"EU": ["sales_team_lead"]}, full_name="Carl Checker")
    ana = await make_user(roles={"EU": ["sales_agent"]}, full_name="Agent Ana")
    bo = await make_user(roles={"EU": ["sales_agent"]}, full_name="Agent Bo")
    entity = maker["entities"]["EU"]
    team = await make_team(entity, lead=maker["id"])
    spanish = await make_pool(entity, "Spanish desk", [(ana["id"], 1, 50)], team_id=team)
    general = await make_pool(entity, "General", [(bo["id"], 1, 50)], team_id=team)
    await publish_rules("routing", entity, {"rules": [], "fallback_pool_id": general})
    for n in range(12):  # past leads for the replay: a third speak Spanish, all went to Bo
        await service.intake(
            Actor.system("t"), raw_lead(n, language="es" if n % 3 == 0 else "en"), channel="api"
        )

    page = await new_page(maker)
    await page.goto(f"/leads/routing/routing/{entity}")
    await page.locator("#r0_name").fill("Spanish speakers")
    await page.locator("#r0_languages").fill("es, notalanguage")
    await page.locator("#r0_pool").select_option(label="Spanish desk")
    await page.get_by_label("When no rule matches").select_option(label="General")
    await page.get_by_role("button", name="Save draft").click()
    await expect(page.locator("main")).to_contain_text(
        "notalanguage"
    )  # refused with the bad value named, nothing lost
    await expect(page.locator("#r0_name")).to_have_value("Spanish speakers")
    await page.locator("#r0_languages").fill("es")
    await page.get_by_label("Reason for approval (to submit)").fill("Spanish desk opens on Monday")
    await page.get_by_role("button", name="Save and send for approval").click()
    request = await ApprovalRequest.select().where(ApprovalRequest.kind == "leads.rules.publish").first()
    assert request is not None

    await page.goto(f"/approvals/{request['id']}")
    await expect(page.get_by_role("button", name="Approve")).to_have_count(0)  # never one's own change
    other = await new_page(checker)
    await other.goto(f"/approvals/{request['id']}")
    await other.get_by_role("button", name="Approve").click()
    await expect(other.locator("[role=status]").first).to_be_visible()
    await other.goto(f"/approvals/{request['id']}")
    await expect(other.get_by_test_id("approval-status")).to_contain_text("Approved")
    published = (
        await RuleSet.select()
        .where((RuleSet.status == "published") & (RuleSet.entity_id == entity))
        .order_by(RuleSet.version, ascending=False)
        .first()
    )
    assert published["version"] == 2

    await page.goto(f"/leads/routing?entity={entity}")
    await page.get_by_label("Days").fill("7")
    await page.get_by_label("Rules", exact=True).select_option("published")
    await page.get_by_role("button", name="Replay").click()
    await expect(page.get_by_test_id("replay-done")).to_contain_text("12 leads replayed", timeout=20_000)
    await expect(page.get_by_test_id("replay-done")).to_contain_text("4 would go to someone else")
    await expect(page.get_by_test_id("replay-per_agent")).to_contain_text("Agent Ana")

    await page.goto(f"/leads/pools/{spanish}")
    await expect(page.locator("main")).to_contain_text("Agent Ana")
    await page.goto(f"/leads/agents/{ana['id']}")
    await page.get_by_label("Time zone").fill("America/Mexico_City")
    await page.locator("#a-mon").fill("09:00-13:00, 14:00-18:00")
    await page.get_by_role("button", name="Save hours").click()
    await expect(page.locator("main")).to_contain_text("Saved")
    schedule = await AgentSchedule.select().where(AgentSchedule.agent_id == ana["id"]).first()
    assert schedule["timezone"] == "America/Mexico_City"

    await page.goto("/leads/sources")
    await page.get_by_label("Name").fill("Inbound mail")
    await page.get_by_label("Kind").select_option("email")
    await page.get_by_role("button", name="Create").click()
    await expect(page.get_by_test_id("credential")).to_contain_text("whsec_")  # shown once
    await expect(page.get_by_test_id("sources")).to_contain_text("/webhooks/email/Inbound%20mail")
